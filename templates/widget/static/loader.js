// The one script a website's code names: it fetches the snippet's
// configuration from mcc, loads the widget once, and keeps asking for
// changes (long polling), so an open page follows availability and the
// admins' edits without a reload, and loses the widget once the snippet
// is deleted.  Its only global is the MCC namespace.
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  var key = script.getAttribute("data-mcc");
  var root = script.src.replace(/[^\/]*$/, "");
  var mcc = (w.MCC = w.MCC || {});
  var box = d.getElementById("mcc-chat-" + key);
  var options = { key: key, root: root, mode: script.getAttribute("data-mcc-mode") };
  var version = "";
  var latest = null;
  var widget = null;

  if (!box) {
    box = script.parentNode.insertBefore(d.createElement("div"), script);
  }

  // Several snippets on one page share one copy of the widget script.
  function load(path, done) {
    if (mcc.mount) {
      return done();
    }
    var waiting = (mcc.waiting = mcc.waiting || []);
    if (waiting.push(done) > 1) {
      return;
    }
    var tag = d.createElement("script");
    tag.src = root + path;
    tag.async = true;
    tag.onload = function () {
      waiting.forEach(function (callback) {
        callback();
      });
    };
    d.head.appendChild(tag);
  }

  function show(config) {
    latest = config;
    if (widget) {
      return widget.update(config);
    }
    load(config.script, function () {
      widget = widget || mcc.mount(box, latest, options);
    });
  }

  // The answer comes at once for a page showing an older version, else
  // when the configuration changes or after a while without news.  Hidden
  // tabs wait to be seen again: browsers allow few connections per server.
  function poll() {
    if (d.hidden) {
      return d.addEventListener("visibilitychange", poll, { once: true });
    }
    fetch(root + key + "/config.json?version=" + version, { credentials: "omit" })
      .then(function (response) {
        if (response.status === 404) {
          return widget && widget.remove();
        }
        if (!response.ok) {
          throw response;
        }
        return response.json().then(function (config) {
          if (config.version !== version) {
            version = config.version;
            show(config);
          }
          poll();
        });
      })
      .catch(function () {
        w.setTimeout(poll, 15000);
      });
  }

  poll();
})(window, document);
