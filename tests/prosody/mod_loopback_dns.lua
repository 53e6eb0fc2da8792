-- Prosody's DNS for the federation tests: every lookup is answered from
-- the test's own table, so that no query leaves the machine (Prosody's
-- resolver ignores /etc/hosts and would ask the nameserver of
-- /etc/resolv.conf).  A name the table lacks does not exist.
--
--   loopback_hosts = { ["mcc.test"] = "127.0.0.2" }         -- A records
--   loopback_srv = { ["_xmpp-server._tcp.mcc.test"] = { { "mcc.test", 5269 } } }

local adns = require "net.adns";
local timer = require "util.timer";

local hosts = module:get_option("loopback_hosts", {});
local services = module:get_option("loopback_srv", {});

local function answer(qname, qtype)
	local records = {};
	local name = qname:lower():gsub("%.$", "");
	if qtype == "A" and hosts[name] then
		records[1] = { a = hosts[name] };
	elseif qtype == "SRV" and services[name] then
		for i, target in ipairs(services[name]) do
			records[i] = { srv = { target = target[1]; port = target[2]; priority = i; weight = 0 } };
		end
	end
	if #records == 0 and qtype ~= "SRV" then
		records.status = "NXDOMAIN";
	end
	return records;
end

local resolver = {};
local resolver_mt = { __index = resolver };

function resolver:lookup(handler, qname, qtype, qclass) -- luacheck: ignore 212
	local records = answer(qname, qtype);
	module:log("info", "loopback DNS: %s %s -> %d record(s)", qname, qtype, #records);
	timer.add_task(0, function () handler(records); end);
	return { cancel = function () end };
end

function resolver:lookup_promise(qname, qtype, qclass) -- luacheck: ignore 212
	return require "util.promise".resolve(answer(qname, qtype));
end

adns.resolver = function () return setmetatable({}, resolver_mt); end;
adns.lookup = function (...) return adns.resolver():lookup(...); end;
