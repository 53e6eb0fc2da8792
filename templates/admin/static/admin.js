// Small enhancements of the admin site; every page works without them.
//  - Presence badges follow the users' XMPP clients without reloading.
//  - Add/Remove Operators moves users between the columns in the page;
//    Save still posts the form.
//  - Design Widgets: a live preview of the skin being edited, drawn by the
//    widget's own script; service levels added, moved and removed in the
//    page until Save; the Online option hidden for embedded widgets; a
//    button copying the generated code.
//  - Activity: the live monitor and an open chat's transcript follow the
//    chats without reloading, and their "for" times count up.
(function () {
  "use strict";

  var PRESENCE_URL = "/admin/presence.json?after=";
  var RETRY_MS = 10000;

  // Long polling: the server answers once presence changed after the
  // version the page has, or after a while with the same version.
  function followPresence() {
    var badges = document.querySelectorAll("[data-presence-of]");
    var main = document.querySelector("[data-presence-version]");
    if (!badges.length || !main) {
      return;
    }
    function poll(version) {
      fetch(PRESENCE_URL + version, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok || response.redirected) {
            // Signed out or expired: stop; the next page asks to sign in.
            return null;
          }
          return response.json().then(function (answer) {
            badges.forEach(function (badge) {
              var status = answer.statuses[badge.dataset.presenceOf] || "offline";
              badge.textContent = status;
              badge.className = "presence presence-" + status;
            });
            poll(answer.version);
          });
        })
        .catch(function () {
          window.setTimeout(function () { poll(version); }, RETRY_MS);
        });
    }
    poll(main.dataset.presenceVersion);
  }

  function insertSorted(list, item) {
    var next = Array.prototype.find.call(list.children, function (other) {
      return other.dataset.username > item.dataset.username;
    });
    list.insertBefore(item, next || null);
  }

  // Moving to Assigned adds the hidden "assigned" field that Save posts;
  // moving back removes it.  Checkbox names say which way a tick moves.
  function enhancePicker(form) {
    var columns = {
      add: form.querySelector('[data-column="assigned"]'),
      remove: form.querySelector('[data-column="unassigned"]'),
    };
    var unsaved = document.querySelector("[data-unsaved]");
    form.addEventListener("click", function (event) {
      var button = event.target.closest('button[name="move"]');
      if (!button) {
        return;
      }
      event.preventDefault();
      var move = button.value;
      var ticked = form.querySelectorAll('input[type="checkbox"][name="' + move + '"]:checked');
      ticked.forEach(function (box) {
        var item = box.closest("li");
        box.checked = false;
        if (move === "add") {
          var field = document.createElement("input");
          field.type = "hidden";
          field.name = "assigned";
          field.value = box.value;
          item.prepend(field);
          box.name = "remove";
        } else {
          item.querySelector('input[name="assigned"]').remove();
          box.name = "add";
        }
        insertSorted(columns[move], item);
      });
      if (ticked.length && unsaved) {
        unsaved.hidden = false;
      }
    });
  }

  // Blank settings take their defaults, as saving would.
  function enhanceSkinForm(form) {
    var preview = form.querySelector("[data-widget-preview]");
    var states = form.querySelector("[data-preview-states]");
    var defaults = JSON.parse(form.dataset.defaults);
    var state = "form";
    function draw() {
      var skin = {};
      Object.keys(defaults).forEach(function (name) {
        var field = form.elements.namedItem(name);
        skin[name] = (field && field.value.trim()) || defaults[name];
      });
      window.MCC.preview(preview, skin, state);
    }
    var script = document.createElement("script");
    script.src = preview.dataset.widgetPreview;
    script.onload = function () {
      form.querySelector("[data-preview-fallback]").hidden = true;
      states.hidden = false;
      form.addEventListener("input", draw);
      form.addEventListener("change", draw);
      draw();
    };
    document.head.appendChild(script);
    states.addEventListener("click", function (event) {
      var button = event.target.closest("[data-preview-state]");
      if (!button) {
        return;
      }
      state = button.dataset.previewState;
      states.querySelectorAll("[data-preview-state]").forEach(function (one) {
        one.setAttribute("aria-pressed", String(one === button));
      });
      draw();
    });
  }

  // The level buttons post the form without JavaScript; here they act in
  // the page, and the rows' numbers and labels follow.
  function enhanceSnippetForm(form) {
    var rows = form.querySelector("[data-levels]");
    var template = form.querySelector("[data-level-template]");
    var empty = form.querySelector("[data-levels-empty]");
    var unsaved = form.querySelector("[data-unsaved]");
    var online = form.querySelector("[data-online-option]");

    function renumber() {
      Array.prototype.forEach.call(rows.rows, function (row, index) {
        var level = "service level " + (index + 1);
        row.querySelector("[data-level-number]").textContent = String(index + 1);
        row.querySelectorAll("[data-label]").forEach(function (control) {
          var label = control.dataset.label;
          control.setAttribute(
            "aria-label", label.indexOf("{}") >= 0 ? label.replace("{}", level) : label + ", " + level
          );
        });
      });
      empty.hidden = rows.rows.length > 0;
      unsaved.hidden = false;
    }

    form.addEventListener("click", function (event) {
      var button = event.target.closest('button[name="level"]');
      if (!button) {
        return;
      }
      event.preventDefault();
      var verb = button.value.split(":")[0];
      var row = button.closest("tr");
      if (verb === "add") {
        rows.appendChild(template.content.cloneNode(true));
        row = rows.rows[rows.rows.length - 1];
      } else if (verb === "remove") {
        row.remove();
      } else if (verb === "up" && row.previousElementSibling) {
        rows.insertBefore(row, row.previousElementSibling);
      } else if (verb === "down" && row.nextElementSibling) {
        rows.insertBefore(row.nextElementSibling, row);
      }
      renumber();
      if (verb === "add") {
        row.querySelector("select").focus();
      } else if (verb !== "remove") {
        button.focus();
      }
    });

    function showOnline() {
      var type = form.querySelector('input[name="widget_type"]:checked');
      online.hidden = Boolean(type) && type.hasAttribute("data-without-online");
    }
    form.addEventListener("change", showOnline);
    showOnline();
  }

  function enhanceCopy(button) {
    var status = document.querySelector("[data-copied]");
    button.hidden = false;
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      field.select();
      // The clipboard API exists only on HTTPS (and localhost) pages.
      var copying = navigator.clipboard ? navigator.clipboard.writeText(field.value) : Promise.reject();
      copying.then(
        function () { status.textContent = "Copied to the clipboard."; },
        function () { status.textContent = "Selected: copy it with Ctrl+C (⌘C on a Mac)."; }
      );
    });
  }

  // A region rendered by the server again whenever anything changed after
  // the version it shows (long polling, as for presence).
  function followLive(region) {
    function poll(version) {
      fetch(region.dataset.live + "?after=" + version, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok || response.redirected) {
            return null;
          }
          return response.json().then(function (answer) {
            region.innerHTML = answer.html;
            countUp(region);
            // Typing and quick exchanges move the version often: a short
            // pause lets one answer carry several changes.
            window.setTimeout(function () { poll(answer.version); }, 300);
          });
        })
        .catch(function () {
          window.setTimeout(function () { poll(version); }, RETRY_MS);
        });
    }
    poll(region.dataset.liveVersion);
  }

  function elapsed(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) {
      return seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (minutes < 60) {
      return minutes + " min " + pad(seconds % 60) + " s";
    }
    return Math.floor(minutes / 60) + " h " + pad(minutes % 60) + " min";
  }

  // The server's clock, not the browser's, says how long a chat waited.
  function countUp(region) {
    var live = region.querySelector("[data-now]");
    if (!live) {
      return;
    }
    var offset = Number(live.dataset.now) - Date.now() / 1000;
    var lateAfter = Number(live.dataset.lateAfter);
    function tick() {
      var now = Date.now() / 1000 + offset;
      live.querySelectorAll("[data-since]").forEach(function (cell) {
        var seconds = now - Number(cell.dataset.since);
        cell.textContent = elapsed(seconds);
        if (cell.hasAttribute("data-waiting") && seconds >= lateAfter) {
          cell.closest("tr").classList.add("late");
        }
      });
    }
    // At once too: queues that did not change come as they were rendered.
    tick();
    window.clearInterval(region.ticking);
    region.ticking = window.setInterval(tick, 1000);
  }

  followPresence();
  document.querySelectorAll("[data-live]").forEach(function (region) {
    countUp(region);
    followLive(region);
  });
  document.querySelectorAll("[data-picker]").forEach(enhancePicker);
  document.querySelectorAll("[data-skin-form]").forEach(enhanceSkinForm);
  document.querySelectorAll("[data-snippet-form]").forEach(enhanceSnippetForm);
  document.querySelectorAll("[data-copy]").forEach(enhanceCopy);
  document.querySelectorAll("[data-colour]").forEach(function (swatch) {
    swatch.style.backgroundColor = swatch.dataset.colour;
  });
})();
