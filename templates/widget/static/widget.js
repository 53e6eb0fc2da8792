// mcc's chat widget, loaded by loader.js: plain JavaScript, no framework,
// one global (MCC).  What it draws lives in shadow roots, so the host
// page's CSS neither breaks it nor is touched by it.  It talks to mcc's
// visitor API from any origin (CORS, no cookies) and keeps the chat token in
// the host origin's sessionStorage, so the chat resumes on the next page.
(function (w, d) {
  "use strict";
  var mcc = (w.MCC = w.MCC || {});
  var RETRIES = 4;
  var RETRY_DELAY = 1500;
  var SIZES = { small: [300, 430], medium: [360, 520], large: [420, 610] };
  var CSS = [
    ":host{all:initial}",
    ".w{font:15px/1.45 var(--font);color:var(--fg);text-align:left}",
    "*{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    ".panel{display:flex;flex-direction:column;width:var(--w);max-width:100%;",
    "max-height:min(var(--h),calc(100vh - 32px));background:var(--bg);color:var(--fg);border-radius:12px;overflow:hidden;",
    "border:1px solid color-mix(in srgb,var(--fg) 25%,var(--bg));box-shadow:0 8px 28px rgba(0,0,0,.22)}",
    ".chatting{height:var(--h)}",
    ".inline .panel{width:100%;max-width:var(--w);box-shadow:none}",
    ".page .panel{width:100%;max-width:none;height:100vh;max-height:none;border:0;border-radius:0}",
    ".head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--p);color:var(--op)}",
    ".logo{width:36px;height:36px;border-radius:50%;object-fit:cover;flex:none}",
    ".titles{flex:1;min-width:0}",
    "h2{margin:0;font-size:1.05em;line-height:1.3;overflow-wrap:anywhere}",
    ".sub{margin:0;font-size:.85em}",
    ".icon{flex:none;width:34px;height:34px;border:0;border-radius:8px;background:none;color:var(--op);font-size:18px}",
    ".icon:hover{background:color-mix(in srgb,var(--op) 15%,var(--p))}",
    ".body{flex:1;min-height:0;display:flex;flex-direction:column;gap:10px;padding:14px;overflow-y:auto}",
    "p{margin:0}",
    ".start{display:flex;flex-direction:column;gap:12px}",
    ".start .primary{align-self:flex-start}",
    ".field label{display:block;margin-bottom:4px;font-weight:600;font-size:.9em}",
    ".opt{font-weight:400}",
    "input,textarea{width:100%;padding:8px 10px;font:inherit;color:var(--fg);background:var(--bg);",
    "border:1px solid color-mix(in srgb,var(--fg) 60%,var(--bg));border-radius:8px}",
    "textarea{resize:vertical}",
    "button{font:inherit;cursor:pointer}",
    ".primary,.launcher{border:0;border-radius:8px;padding:9px 16px;background:var(--p);color:var(--op);font-weight:650}",
    ".plain{align-self:flex-start;border:1px solid color-mix(in srgb,var(--fg) 60%,var(--bg));border-radius:8px;",
    "padding:7px 14px;background:var(--bg);color:var(--fg)}",
    ":focus-visible{outline:3px solid var(--fg);outline-offset:2px}",
    ".head :focus-visible{outline-color:var(--op);outline-offset:-3px}",
    ".launcher,.pill{display:inline-block;border-radius:999px;padding:12px 20px;box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".launcher:focus-visible{outline-color:var(--p);outline-offset:3px}",
    ".unread::after{content:'';display:inline-block;width:.6em;height:.6em;margin-left:.5em;border-radius:50%;",
    "background:var(--op)}",
    ".pill{background:var(--bg);color:var(--fg);border:1px solid color-mix(in srgb,var(--fg) 40%,var(--bg))}",
    ".inline .pill,.inline .launcher{box-shadow:none}",
    ".corner,.preview{display:flex;flex-direction:column;gap:12px;align-items:flex-end}",
    ".left{align-items:flex-start}",
    ".chat{flex:1;min-height:0;display:flex;flex-direction:column;gap:10px}",
    ".log{flex:1;min-height:6em;display:flex;flex-direction:column;gap:8px;overflow-y:auto}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".visitor{align-self:flex-end;background:var(--p);color:var(--op)}",
    ".operator{align-self:flex-start;background:color-mix(in srgb,var(--fg) 7%,var(--bg))}",
    ".who{display:block;font-size:.8em;font-weight:650}",
    ".note{align-self:center;text-align:center;font-size:.88em;font-style:italic}",
    ".typing{min-height:1.3em;font-size:.88em;font-style:italic}",
    ".compose{display:flex;gap:8px;align-items:flex-end}",
    ".files{display:flex;flex-wrap:wrap;gap:8px;align-items:center}",
    ".msg a{color:inherit;font-weight:650}",
    ".error{font-weight:600}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.corner .panel{position:fixed;inset:0;width:100%;height:100%;",
    "max-height:none;border:0;border-radius:0}}",
  ].join("");
  var sheet = null;

  function h(tag, props, kids) {
    var el = d.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name.slice(0, 2) === "on") {
        el.addEventListener(name.slice(2), value);
      } else {
        el.setAttribute(name, value === true ? "" : value);
      }
    });
    (kids || []).forEach(function (kid) {
      if (kid) {
        el.appendChild(typeof kid === "string" ? d.createTextNode(kid) : kid);
      }
    });
    return el;
  }

  function nothing() {}

  function fmt(text, name, field) {
    return text.split("{" + (field || "name") + "}").join(name);
  }

  // A size in bytes as mcc writes it to operators.
  function bytes(size) {
    return size < 1000 ? size + " bytes" : size < 1e6 ? (size / 1000).toFixed(1) + " kB" : (size / 1e6).toFixed(1) + " MB";
  }

  // A new element of the host page whose shadow root holds our styles and
  // a wrapper to draw in; placement goes inline, ahead of any page rule.
  function host(parent, kind, skin, placement) {
    var el = h("div", { "data-mcc-widget": kind.split(" ")[0] });
    var root = el.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets && w.CSSStyleSheet) {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(h("style", {}, [CSS]));
    }
    var wrap = root.appendChild(h("div", { "class": "w " + kind, lang: skin.language }));
    Object.keys(placement || {}).forEach(function (name) {
      el.style.setProperty(name, placement[name], "important");
    });
    paint(el, skin);
    parent.appendChild(el);
    return { el: el, wrap: wrap };
  }

  function paint(el, skin) {
    var size = SIZES[skin.size] || SIZES.medium;
    var values = {
      "--p": skin.colour_primary, "--op": skin.colour_on_primary, "--bg": skin.colour_background,
      "--fg": skin.colour_text, "--font": skin.font, "--w": size[0] + "px", "--h": size[1] + "px",
    };
    Object.keys(values).forEach(function (name) {
      el.style.setProperty(name, values[name]);
    });
  }

  function corner(position) {
    var sides = (position || "bottom-right").split("-");
    var placement = { position: "fixed", "z-index": "2147483000", display: "block" };
    placement[sides[0]] = "16px";
    placement[sides[1]] = "16px";
    return placement;
  }

  function light(html) {
    var div = d.createElement("div");
    div.innerHTML = html;
    return div;
  }

  // The panel: a header (logo, title, status, buttons) and a body.
  function panel(skin, act) {
    var sub = h("p", { "class": "sub", "aria-live": "polite" });
    var head = h("div", { "class": "head" }, [
      skin.logo_url && h("img", { "class": "logo", src: skin.logo_url, alt: "" }),
      h("div", { "class": "titles" }, [h("h2", {}, [skin.title]), sub]),
      act.popOut && h("button", {
        type: "button", "class": "icon", "aria-label": skin.text_pop_out, title: skin.text_pop_out, onclick: act.popOut,
      }, ["\u2197"]),
      act.minimise && h("button", {
        type: "button", "class": "icon", "aria-label": skin.text_minimise, title: skin.text_minimise,
        "aria-expanded": "true", onclick: act.minimise,
      }, ["\u2013"]),
    ]);
    var body = h("div", { "class": "body" });
    var el = h("section", { "class": "panel", "aria-label": skin.title }, [head, body]);
    return { el: el, body: body, sub: sub };
  }

  // `cfg` (none in the preview) gives the visitor API's limits.
  function startForm(skin, start, cfg) {
    var kids = [skin.greeting && h("p", { "class": "greeting" }, [skin.greeting])];
    var fields = {};
    ["name", "email", "question"].forEach(function (name) {
      var mode = skin["field_" + name];
      if (mode !== "optional" && mode !== "required") {
        return;
      }
      var id = "mcc-" + name;
      fields[name] = h(name === "question" ? "textarea" : "input", {
        id: id, name: name, required: mode === "required", rows: name === "question" ? 3 : null,
        type: name === "question" ? null : name === "email" ? "email" : "text",
        autocomplete: name === "question" ? null : name,
        maxlength: cfg && cfg[name === "question" ? "max_message_size" : "max_field_size"],
      });
      kids.push(h("div", { "class": "field" }, [
        h("label", { "for": id }, [
          skin["text_" + name], mode === "optional" && h("span", { "class": "opt" }, [" (" + skin.text_optional + ")"]),
        ]),
        fields[name],
      ]));
    });
    var button = h("button", { type: "submit", id: "mcc-start", "class": "primary" }, [skin.text_start]);
    var error = h("p", { "class": "error", role: "alert" });
    kids.push(button, error);
    return h("form", {
      "class": "start",
      onsubmit: function (event) {
        event.preventDefault();
        var values = {};
        Object.keys(fields).forEach(function (name) {
          values[name] = fields[name].value;
        });
        button.disabled = true;
        start(values, function (problem) {
          button.disabled = false;
          error.textContent = problem;
        });
      },
    }, kids);
  }

  // The transcript (an ARIA live log), the typing line and the composer.
  function chatView(skin, act, limit) {
    var log = h("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": skin.title });
    var typing = h("p", { "class": "typing" });
    var text = h("textarea", { id: "mcc-message", rows: 2, maxlength: limit, oninput: act.typing });
    var compose = h("form", {
      "class": "compose",
      onsubmit: function (event) {
        event.preventDefault();
        if (text.value.trim()) {
          act.say(text.value.trim(), function () {
            text.value = "";
          });
        }
      },
    }, [h("label", { "for": "mcc-message", "class": "sr" }, [skin.text_message]), text,
      h("button", { type: "submit", "class": "primary" }, [skin.text_send])]);
    text.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        compose.requestSubmit();
      }
    });
    var end = h("button", { type: "button", "class": "plain", onclick: act.end }, [skin.text_end]);
    var again = h("button", { type: "button", "class": "plain", hidden: true, onclick: act.again }, [skin.text_new]);
    // Sending a file, where the skin lets visitors: a button of its own
    // opens the browser's file chooser, whose input stays out of sight.
    var chooser = h("input", {
      type: "file", id: "mcc-file-input", hidden: true, tabindex: "-1", "aria-hidden": "true",
      onchange: function () {
        var file = chooser.files[0];
        chooser.value = "";
        if (file) {
          act.file(file);
        }
      },
    });
    var problem = h("p", { "class": "error", role: "alert", id: "mcc-file-error" });
    var files = h("div", { "class": "files", hidden: true }, [
      chooser,
      h("button", {
        type: "button", id: "mcc-file", "class": "plain", "aria-describedby": "mcc-file-error",
        onclick: function () { chooser.click(); },
      }, [skin.text_file]),
      problem,
    ]);
    var el = h("div", { "class": "chat" }, [log, typing, compose, act.file && files, end, again]);
    function line(from, who, kids) {
      // Names and words go in isolates of their own direction, so
      // that neither turns the other, or the log, around.
      log.appendChild(h("p", { "class": "msg " + from }, [
        h("span", { "class": "who" }, [h("bdi", {}, [who]), h("span", { "class": "sr" }, [":"])]),
      ].concat(kids)));
      log.scrollTop = log.scrollHeight;
    }
    return {
      el: el, log: log, typing: typing, text: text, problem: problem,
      message: function (who, words, from) {
        line(from, who, [h("span", { dir: "auto" }, [words])]);
      },
      file: function (who, e, href) {
        line(e.from, who, [h("a", { href: href, dir: "auto" }, [h("bdi", {}, [e.name]), " (" + bytes(e.size) + ")"])]);
      },
      // Whether the visitor can send a file now: once an operator is there.
      files: function (on) {
        files.hidden = !on;
      },
      note: function (words) {
        log.appendChild(h("p", { "class": "note" }, [words]));
        log.scrollTop = log.scrollHeight;
      },
      ended: function () {
        var focused = end.matches(":focus");
        log.removeAttribute("aria-busy");
        compose.hidden = end.hidden = files.hidden = true;
        again.hidden = false;
        typing.textContent = "";
        if (focused) {
          again.focus();
        }
      },
    };
  }

  function remember(name) {
    return {
      get: function () {
        try {
          return JSON.parse(w.sessionStorage.getItem(name)) || {};
        } catch (problem) {
          return {};
        }
      },
      set: function (value) {
        try {
          w.sessionStorage.setItem(name, JSON.stringify(value));
        } catch (problem) {
          // Storage off: the chat works, it just does not follow to the next page.
        }
      },
    };
  }

  // One snippet on one page.  `options.mode` is "page" on mcc's own chat
  // page (the direct URL and the pop-up window).
  mcc.mount = function (box, config, options) {
    var cfg = config;
    var latest = config;
    var key = options.key;
    var api = options.root.replace(/widget\/$/, "api/chats");
    var type = kind();
    var memory = remember("mcc:" + key);
    var passed = /[#&]t=([\w-]+)/.exec(w.location.hash);
    if (type === "page" && passed) {
      memory.set({ token: passed[1], open: true });
      w.history.replaceState(null, "", w.location.pathname + w.location.search);
    }
    var saved = memory.get();
    var token = saved.token || null;
    var open = Boolean(saved.open);
    var phase = token ? "chat" : "idle";
    var last = 0;
    var shown = 0;
    var operator = "";
    var hosts = [];
    var p = null;
    var view = null;
    var launcher = null;
    var composing = null;
    var unsent = null;
    var own = [];

    function keep() {
      memory.set(token ? { token: token, open: open } : { open: open });
    }

    function call(path, body) {
      return w.fetch(api + path, {
        method: "POST", credentials: "omit", headers: { "content-type": "application/json" },
        body: JSON.stringify(body || {}),
      }).then(function (response) {
        return response.json().catch(function () {
          return {};
        }).then(function (answer) {
          answer.status = response.status;
          return answer;
        });
      }, function () {
        return { status: 0 };
      });
    }

    function openWindow(hash) {
      var size = SIZES[cfg.skin.size] || SIZES.medium;
      return w.open(options.root + key + "/chat" + (hash || ""), "mcc-" + key,
        "popup,width=" + (size[0] + 40) + ",height=" + (size[1] + 40));
    }

    // Drawing

    // On mcc's own chat page, a page whatever the snippet's widget type.
    function kind() {
      return options.mode === "page" ? "page" : cfg.type;
    }

    function clear() {
      hosts.forEach(function (old) {
        old.el.remove();
      });
      hosts = [];
      p = view = launcher = null;
      box.textContent = "";
    }

    function draw() {
      clear();
      type = kind();
      var skin = cfg.skin;
      var idle = phase === "idle";
      if (type === "floating" || type === "popup") {
        if (cfg.html) {
          var html = box.appendChild(light(cfg.html));
          html.addEventListener("click", function (event) {
            var hit = event.target.closest("a,button");
            if (cfg.online && hit && html.contains(hit)) {
              event.preventDefault();
              return type === "popup" ? openWindow() : show(true);
            }
          });
        }
      } else if (idle && !cfg.online && cfg.html) {
        return box.appendChild(light(cfg.html));
      }
      if (type === "popup") {
        if (!cfg.html) {
          var inline = host(box, "inline", skin, { display: "block" });
          hosts.push(inline);
          inline.wrap.appendChild(cfg.online
            ? h("button", { type: "button", id: "mcc-launcher", "class": "launcher", onclick: function () { openWindow(); } }, [skin.text_launcher])
            : h("p", { "class": "pill" }, [skin.offline_text]));
        }
        return;
      }
      if (type !== "floating") {
        var place = host(box, type === "page" ? "page" : "inline", skin, { display: "block" });
        hosts.push(place);
        p = panel(skin, {});
        place.wrap.appendChild(p.el);
        return fill();
      }
      if (idle && !cfg.online) {
        if (!cfg.html) {
          var pill = host(d.body, "corner", skin, corner(skin.position));
          hosts.push(pill);
          pill.wrap.appendChild(h("p", { "class": "pill", role: "status" }, [skin.offline_text]));
        }
        return;
      }
      var spot = host(d.body, "corner " + skin.position.split("-")[1], skin, corner(skin.position));
      hosts.push(spot);
      p = panel(skin, { popOut: popOut, minimise: function () { show(false); } });
      p.el.id = "mcc-panel";
      p.el.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          show(false);
        }
      });
      launcher = h("button", {
        type: "button", id: "mcc-launcher", "class": "launcher", "aria-expanded": "false", "aria-controls": "mcc-panel",
        onclick: function () { show(true); },
      }, [skin.text_launcher]);
      spot.wrap.appendChild(p.el);
      spot.wrap.appendChild(launcher);
      fill();
      show(open, true);
    }

    // What the visitor typed and where the focus was, to carry over a redraw.
    function typed() {
      var kept = { values: {}, focus: null };
      hosts.forEach(function (one) {
        var root = one.el.shadowRoot;
        root.querySelectorAll("input,textarea").forEach(function (field) {
          kept.values[field.id] = field.value;
        });
        kept.focus = kept.focus || (root.activeElement && root.activeElement.id);
      });
      return kept;
    }

    function retype(kept) {
      hosts.forEach(function (one) {
        var root = one.el.shadowRoot;
        Object.keys(kept.values).forEach(function (id) {
          var field = root.getElementById(id);
          if (field) {
            field.value = kept.values[id];
          }
        });
        var focused = kept.focus && root.getElementById(kept.focus);
        if (focused) {
          focused.focus();
        }
      });
    }

    // Floating: open or minimise the panel; the choice follows to the next page.
    function show(opened, quiet) {
      open = opened;
      keep();
      p.el.hidden = !opened;
      launcher.hidden = opened;
      launcher.setAttribute("aria-expanded", String(opened));
      if (opened) {
        unread(false);
        seen();
      }
      if (!quiet) {
        var target = opened ? p.body.querySelector("input,textarea,button") : launcher;
        if (target) {
          target.focus();
        }
      }
    }

    function fill() {
      var skin = cfg.skin;
      p.body.textContent = "";
      p.el.classList.toggle("chatting", phase === "chat" || phase === "ended");
      if (phase === "popped") {
        p.body.appendChild(h("p", {}, [skin.text_popped_out]));
      } else if (phase === "idle") {
        p.sub.textContent = "";
        p.body.appendChild(cfg.online ? startForm(skin, start, cfg) : h("p", { "class": "offline" }, [skin.offline_text]));
      } else {
        var act = { say: say, typing: typing, end: end, again: again };
        if (skin.visitor_files === "on" && cfg.max_file_size) {
          act.file = sendFile;
        }
        view = chatView(skin, act, cfg.max_message_size);
        view.files(phase === "chat" && Boolean(operator));
        p.sub.textContent = phase !== "chat" ? "" : operator ? fmt(skin.text_chatting, operator) : skin.text_waiting;
        p.body.appendChild(view.el);
      }
    }

    // Floating: the minimised chat has news; the launcher shows it, and says it.
    function unread(news) {
      var skin = cfg.skin;
      launcher.classList.toggle("unread", news);
      if (news) {
        launcher.setAttribute("aria-label", skin.text_launcher + " (" + skin.text_unread + ")");
      } else {
        launcher.removeAttribute("aria-label");
      }
    }

    // The chat

    function start(values, failed) {
      var target = cfg.target || {};
      values.page = type === "page" ? d.referrer || w.location.href : w.location.href;
      if (d.referrer && type !== "page") {
        values.referrer = d.referrer;
      }
      values[target.queue ? "queue" : "user"] = target.queue || target.user;
      call("", values).then(function (answer) {
        if (answer.status !== 201) {
          return failed(answer.status === 409 ? cfg.skin.offline_text : refused(answer));
        }
        token = answer.token;
        phase = "chat";
        last = 0;
        shown = 0;
        own = [];
        operator = "";
        keep();
        fill();
        view.text.focus();
        poll();
      });
    }

    function poll() {
      var mine = token;
      w.fetch(api + "/" + token + "/events?after=" + last, { credentials: "omit" })
        .then(function (response) {
          if (response.status === 404) {
            return finished();
          }
          if (!response.ok) {
            throw response;
          }
          return response.json().then(function (answer) {
            if (mine !== token) {
              return;
            }
            // Events up to `last` are on screen already: the visitor's
            // own messages, shown as their posts were answered.
            answer.events.forEach(function (e) {
              if (e.seq > last) {
                event(e);
              }
            });
            last = Math.max(last, answer.last);
            showOwn();
            seen();
            if (view) {
              view.log.removeAttribute("aria-busy");
            }
            return answer.state === "waiting" || answer.state === "active" ? poll() : finished();
          });
        })
        .catch(function () {
          if (mine === token) {
            w.setTimeout(poll, 3000);
          }
        });
    }

    function event(e) {
      var skin = cfg.skin;
      if (e.kind === "message") {
        var visitor = e.from === "visitor";
        view.message(visitor ? skin.text_you : e.name || operator, e.text, visitor ? "visitor" : "operator");
        if (!visitor) {
          view.typing.textContent = "";
          if (launcher && !open) {
            unread(true);
          }
        }
      } else if (e.kind === "file") {
        view.file(e.from === "visitor" ? skin.text_you : operator, e, api + "/" + token + "/files/" + encodeURIComponent(e.id));
        if (e.from !== "visitor" && launcher && !open) {
          unread(true);
        }
      } else if (e.kind === "typing" && e.from === "operator") {
        view.typing.textContent = e.state === "composing" ? fmt(skin.text_typing, operator)
          : e.state === "looking" && !operator ? skin.text_looking : "";
      } else if (e.kind === "picked_up") {
        operator = e.operator;
        view.files(true);
        view.note(fmt(skin.text_joined, operator));
        p.sub.textContent = fmt(skin.text_chatting, operator);
      } else if (e.kind === "requeued") {
        operator = "";
        view.files(false);
        view.note(skin.text_transferred);
        p.sub.textContent = skin.text_waiting;
      } else if (e.kind === "transfer") {
        view.note(e.to ? fmt(skin.text_transfer, e.to) : e.text);
      } else if (e.kind === "ended" || e.kind === "missed") {
        view.note(e.kind === "ended" ? skin.text_ended : skin.text_missed);
      }
    }

    // The chat is over: keep the transcript on screen, forget the token.
    function finished() {
      token = null;
      phase = "ended";
      keep();
      if (view) {
        view.ended();
        p.sub.textContent = "";
      }
      follow();
    }

    // Draw the newest configuration, all of it in one skin.  A chat keeps
    // the skin it started in until it is over; then the transcript stays
    // while somebody is available, else the offline state shows.
    function follow() {
      if (latest === cfg || phase === "chat") {
        return;
      }
      cfg = latest;
      if (!cfg.online) {
        phase = "idle";
        operator = "";
      }
      var kept = typed();
      var log = view && view.log;
      draw();
      retype(kept);
      if (phase === "ended" && view) {
        while (log && log.firstChild) {
          view.log.appendChild(log.firstChild);
        }
        view.ended();
      }
    }

    // The visitor's own messages do not wake the poll: each shows as soon
    // as the chat is on screen up to the event it follows, and moves `last`
    // on; those whose place the poll has not reached yet it brings itself.
    function showOwn() {
      var more = true;
      while (more && view) {
        more = false;
        own = own.filter(function (message) {
          if (message.token !== token || message.seq <= last) {
            return false;
          }
          if (message.follows <= last) {
            view.message(cfg.skin.text_you, message.text, "visitor");
            last = message.seq;
            more = true;
            return false;
          }
          return true;
        });
      }
    }

    // A message goes with a random id of its own, the same however often
    // it is sent: a retry after a lost answer (a dropped connection, a
    // restart of mcc) is stored once.  Lost answers are retried by
    // themselves; sending the same words again after an error reuses the id.
    function say(text, sent) {
      w.clearTimeout(composing);
      composing = null;
      if (!unsent || unsent.text !== text || unsent.token !== token) {
        unsent = { text: text, token: token, id: messageId() };
      }
      var message = unsent;
      var tries = 0;
      (function send() {
        call("/" + message.token + "/messages", { text: text, id: message.id }).then(function (answer) {
          if (answer.status === 202) {
            if (unsent === message) {
              unsent = null;
            }
            if (typeof answer.seq === "number" && typeof answer.follows === "number") {
              own.push({ token: message.token, seq: answer.seq, follows: answer.follows, text: text });
              showOwn();
            }
            return sent();
          }
          if ((answer.status === 0 || answer.status >= 500) && ++tries < RETRIES && token === message.token) {
            return w.setTimeout(send, RETRY_DELAY);
          }
          view.note(refused(answer));
        });
      })();
    }

    // A file goes as the request's body, its name in a header.  Its size is
    // checked here first: mcc's HTTP server refuses a larger declared body
    // before the visitor API can answer in a way this page may read.
    function sendFile(file) {
      var skin = cfg.skin;
      var tell = function (text) {
        view.problem.textContent = text;
      };
      if (file.size > cfg.max_file_size) {
        return tell(fmt(skin.text_file_too_large, bytes(cfg.max_file_size), "limit"));
      }
      if (!file.size) {
        return tell(skin.text_file_empty);
      }
      tell("");
      w.fetch(api + "/" + token + "/files", {
        method: "POST", credentials: "omit", body: file,
        headers: { "x-file-name": encodeURIComponent(file.name) },
      }).then(function (response) {
        return response.json().catch(function () {
          return {};
        }).then(function (answer) {
          if (response.status !== 201) {
            tell(response.status === 413 ? fmt(skin.text_file_too_large, bytes(cfg.max_file_size), "limit")
              : response.status === 415 ? skin.text_file_type
              : answer.error === "empty-file" ? skin.text_file_empty : skin.text_error);
          }
        });
      }, function () {
        tell(skin.text_error);
      });
    }

    function messageId() {
      var bytes = new Uint8Array(16);
      w.crypto.getRandomValues(bytes);
      return Array.prototype.map.call(bytes, function (byte) {
        return (byte + 256).toString(16).slice(1);
      }).join("");
    }

    // Why the visitor API refused: too long (the limit it names), or else.
    function refused(answer) {
      var skin = cfg.skin;
      return answer.status === 413
        ? fmt(skin.text_too_long, answer.limit || cfg.max_message_size, "limit")
        : skin.text_error;
    }

    function typing() {
      if (!composing) {
        call("/" + token + "/typing", { state: "composing" });
      }
      w.clearTimeout(composing);
      composing = w.setTimeout(function () {
        composing = null;
        if (token) {
          call("/" + token + "/typing", { state: "paused" });
        }
      }, 4000);
    }

    function end() {
      call("/" + token + "/end");
    }

    // The visitor has seen the chat up to its last event when the panel
    // shows and the page has the focus: the operator's client may say so.
    function seen() {
      var showing = view && view.el.isConnected && p && !p.el.hidden && !d.hidden && d.hasFocus();
      if (!token || !showing || last <= shown) {
        return;
      }
      shown = last;
      call("/" + token + "/seen", { seq: last });
    }
    w.addEventListener("focus", function () { seen(); });
    d.addEventListener("visibilitychange", function () { seen(); });

    function again() {
      phase = "idle";
      operator = "";
      draw();
      if (launcher) {
        show(true);
      }
    }

    // Floating: carry on in a window of its own; this page lets go.
    function popOut() {
      if (!openWindow(token ? "#t=" + token : "")) {
        return;
      }
      if (token) {
        token = null;
        phase = "popped";
        keep();
        fill();
      } else {
        show(false);
      }
    }

    // After a navigation the chat so far comes back at once: the log is busy
    // meanwhile, so that screen readers do not read it all out again.
    function replay() {
      if (view) {
        view.log.setAttribute("aria-busy", "true");
      }
      poll();
    }

    draw();
    if (token) {
      replay();
    }
    return {
      update: function (config) {
        latest = config;
        follow();
      },
      // The snippet is gone: so is all it drew, and its chat stops polling.
      remove: function () {
        token = null;
        clear();
      },
    };
  };

  // The admin site's live preview: the widget as `skin` draws it, inert.
  mcc.preview = function (el, skin, state) {
    el.textContent = "";
    var shown = host(el, "preview", skin, { display: "block" });
    shown.wrap.inert = true;
    if (state === "offline") {
      return shown.wrap.appendChild(h("p", { "class": "pill" }, [skin.offline_text]));
    }
    var p = panel(skin, { popOut: nothing, minimise: nothing });
    shown.wrap.appendChild(p.el);
    shown.wrap.appendChild(h("button", { type: "button", "class": "launcher" }, [skin.text_launcher]));
    if (state !== "chat") {
      return p.body.appendChild(startForm(skin, null));
    }
    var view = chatView(skin, { say: nothing, typing: nothing, end: nothing, again: nothing });
    p.el.classList.add("chatting");
    p.body.appendChild(view.el);
    p.sub.textContent = fmt(skin.text_chatting, "Sam");
    view.message(skin.text_you, "Where is my order?", "visitor");
    view.note(fmt(skin.text_joined, "Sam"));
    view.message("Sam", "Hello! Let me look it up for you.", "operator");
    view.typing.textContent = fmt(skin.text_typing, "Sam");
  };
})(window, document);
