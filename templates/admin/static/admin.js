// Small enhancements of the admin site; every page works without them.
//  - Presence badges follow the users' XMPP clients without reloading.
//  - Add/Remove Operators moves users between the columns in the page;
//    Save still posts the form.
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

  followPresence();
  document.querySelectorAll("[data-picker]").forEach(enhancePicker);
})();
