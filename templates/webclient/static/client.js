/* The web chat client: chats in panes, fed by one long poll on the
   operator's numbered events; the cursor resumes it after a drop. */
(function () {
  "use strict";
  var main = document.getElementById("main");
  var csrf = main.dataset.csrf;
  var list = document.getElementById("chat-list");
  var panes = document.getElementById("chats");
  var empty = document.getElementById("no-chats");
  var announcer = document.getElementById("announcer");
  var connection = document.getElementById("connection");
  var template = document.getElementById("pane-template");
  var baseTitle = document.title;
  var chats = {};
  var order = [];
  var front = null;
  var client = null;
  var cursor = 0;
  var skew = 0;
  var audio = null;

  function api(method, path, body) {
    var options = { method: method, credentials: "same-origin", headers: {} };
    if (method === "POST") {
      options.headers["content-type"] = "application/json";
      options.headers["x-csrf-token"] = csrf;
      options.body = JSON.stringify(body || {});
    }
    return fetch("/client/api/" + path, options).then(function (response) {
      if (response.status === 401) { window.location.href = "/client/sign-in"; throw new Error("signed out"); }
      return response.json().then(function (answer) { answer.httpStatus = response.status; return answer; });
    });
  }

  // Sound and notifications

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.25);
    } catch (problem) { /* no sound here */ }
  }

  function alertOperator(title, body) {
    beep();
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(title, { body: body, tag: "mcc-" + title }); } catch (problem) { /* ignored */ }
    }
  }

  var notifyButton = document.getElementById("notify-button");
  if (!window.Notification || Notification.permission !== "default") { notifyButton.hidden = true; }
  notifyButton.addEventListener("click", function () {
    beep();
    Notification.requestPermission().then(function () { notifyButton.hidden = true; });
  });

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // Panes

  function totalUnread() {
    return order.reduce(function (sum, id) { return sum + chats[id].unread; }, 0);
  }

  function updateTitle() {
    var count = totalUnread();
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
  }

  function label(chat) {
    return chat.details.visitor || "Visitor";
  }

  function paneFor(details) {
    var chat = chats[details.id];
    if (chat) { chat.details = details; return chat; }
    var pane = template.content.firstElementChild.cloneNode(true);
    var id = details.id;
    pane.id = "chat-" + id;
    pane.hidden = true;
    var tab = document.createElement("button");
    tab.type = "button";
    tab.className = "chat-tab";
    tab.id = "tab-" + id;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", pane.id);
    tab.setAttribute("aria-selected", "false");
    tab.innerHTML = '<span class="tab-name"></span><span class="unread" aria-label="unread"></span>';
    var item = document.createElement("li");
    item.setAttribute("role", "presentation");
    item.appendChild(tab);
    list.appendChild(item);
    pane.setAttribute("aria-labelledby", tab.id);
    var textarea = pane.querySelector("textarea");
    textarea.id = "reply-" + id;
    pane.querySelector(".composer label").setAttribute("for", textarea.id);
    panes.appendChild(pane);
    chat = { details: details, pane: pane, tab: tab, item: item, unread: 0, ended: false, typingTimer: null, composing: false };
    chats[id] = chat;
    order.push(id);
    tab.addEventListener("click", function () { show(id, true); });
    pane.querySelector(".composer").addEventListener("submit", function (event) { event.preventDefault(); send(id); });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(id); }
    });
    textarea.addEventListener("input", function () { typed(id); });
    textarea.addEventListener("input", function () { costs(id); });
    pane.querySelector('[data-action="take"]').addEventListener("click", function () { act(id, "take"); });
    pane.querySelector('[data-action="end"]').addEventListener("click", function () { act(id, "end"); });
    pane.querySelector('[data-action="close"]').addEventListener("click", function () { forget(id); });
    empty.hidden = true;
    if (front === null) { show(id, false); }
    return chat;
  }

  function render(chat) {
    var d = chat.details;
    var pane = chat.pane;
    chat.tab.querySelector(".tab-name").textContent = label(chat);
    pane.querySelector(".pane-title").textContent = label(chat) + " · " + d.queue;
    var state;
    if (chat.ended) { state = "Ended"; }
    else if (d.state === "waiting") { state = "Ringing: reply or take it to answer"; }
    else if (d.operator === main.dataset.me) { state = "Your chat"; }
    else { state = (d.operator_name || d.operator) + " has this chat"; }
    pane.querySelector(".pane-state").textContent = state;
    chat.tab.classList.toggle("ringing", d.state === "waiting" && !chat.ended);
    chat.tab.classList.toggle("ended", chat.ended);
    ["visitor", "email", "question", "page", "queue"].forEach(function (field) {
      pane.querySelector('[data-field="' + field + '"]').textContent = d[field] || "—";
    });
    pane.querySelector('[data-field="waiting"]').textContent = waited(d.created_at);
    pane.querySelector('[data-action="take"]').hidden = d.state !== "waiting" || chat.ended;
    pane.querySelector('[data-action="end"]').hidden = chat.ended;
    pane.querySelector('[data-action="close"]').hidden = !chat.ended;
    pane.querySelector(".composer").hidden = chat.ended;
    var unread = chat.tab.querySelector(".unread");
    unread.textContent = chat.unread ? String(chat.unread) : "";
    unread.setAttribute("aria-label", chat.unread + " unread");
    updateTitle();
  }

  function waited(since) {
    var seconds = Math.max(0, Math.round(Date.now() / 1000 - skew - since));
    return seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min";
  }

  function show(id, focus) {
    front = id;
    order.forEach(function (other) {
      var chat = chats[other];
      var selected = other === id;
      chat.pane.hidden = !selected;
      chat.tab.setAttribute("aria-selected", selected ? "true" : "false");
      chat.tab.tabIndex = selected ? 0 : -1;
    });
    chats[id].unread = 0;
    render(chats[id]);
    var log = chats[id].pane.querySelector(".log");
    log.scrollTop = log.scrollHeight;
    if (focus) { chats[id].pane.querySelector("textarea").focus(); }
  }

  function forget(id) {
    var chat = chats[id];
    chat.pane.remove();
    chat.item.remove();
    delete chats[id];
    order = order.filter(function (other) { return other !== id; });
    front = null;
    if (order.length) { show(order[0], true); } else { empty.hidden = false; updateTitle(); }
  }

  function line(chat, kind, who, text) {
    var log = chat.pane.querySelector(".log");
    var item = document.createElement("li");
    item.className = kind;
    if (who) {
      var name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      item.appendChild(name);
    }
    item.appendChild(document.createTextNode(text));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function said(chat, message) {
    var who = message.from === "visitor" ? (message.name || "Visitor") : (message.name || "Operator");
    line(chat, "from-" + message.from, who, message.text);
  }

  function fill(entry) {
    var chat = paneFor(entry.details);
    chat.ended = false;
    chat.pane.querySelector(".log").textContent = "";
    entry.transcript.forEach(function (message) { said(chat, message); });
    render(chat);
    return chat;
  }

  function notFront(id) {
    return id !== front || document.hidden;
  }

  // Events

  var handlers = {
    offer: function (event) {
      var chat = fill(event);
      alertOperator("New chat: " + label(chat), chat.details.question || chat.details.queue);
      announce("New chat from " + label(chat) + " for " + chat.details.queue);
      if (notFront(event.chat)) { chat.unread += 1; render(chat); }
    },
    resume: function (event) { fill(event); },
    taken: function (event) { var chat = paneFor(event.details); render(chat); },
    message: function (event) {
      var chat = chats[event.chat];
      if (!chat) { return; }
      said(chat, event);
      chat.pane.querySelector(".typing").textContent = "";
      if (event.from === "visitor") {
        // The chat in front is a log, which screen readers follow already.
        if (notFront(event.chat)) {
          announce(label(chat) + " says: " + event.text);
          chat.unread += 1;
          alertOperator(label(chat), event.text);
        }
      }
      render(chat);
    },
    typing: function (event) {
      var chat = chats[event.chat];
      if (chat) { chat.pane.querySelector(".typing").textContent = event.state === "composing" ? label(chat) + " is typing…" : ""; }
    },
    notice: function (event) {
      var chat = chats[event.chat];
      if (chat) { line(chat, "notice", null, event.text); announce(event.text); }
    },
    withdraw: function (event) {
      var chat = chats[event.chat];
      if (!chat) { return; }
      chat.ended = true;
      chat.pane.querySelector(".typing").textContent = "";
      line(chat, "notice", null, "This chat is no longer open here.");
      render(chat);
    }
  };

  function start(answer) {
    skew = Date.now() / 1000 - answer.now;
    cursor = answer.cursor;
    var open = {};
    answer.chats.forEach(function (entry) { open[entry.details.id] = true; fill(entry); });
    order.slice().forEach(function (id) {
      if (!open[id] && !chats[id].ended) { handlers.withdraw({ chat: id }); }
    });
  }

  function openClient() {
    return api("POST", "open").then(function (answer) {
      client = answer.client;
      document.getElementById("status").value = answer.status;
      start(answer);
      connection.textContent = "";
      poll();
    }, retry(openClient));
  }

  function retry(again) {
    return function () {
      connection.textContent = "Connection lost; reconnecting…";
      window.setTimeout(again, 2000);
    };
  }

  function poll() {
    api("GET", "events?client=" + encodeURIComponent(client) + "&after=" + cursor).then(function (answer) {
      connection.textContent = "";
      if (answer.httpStatus === 410) { openClient(); return; }
      if (answer.resync) { start(answer); poll(); return; }
      skew = Date.now() / 1000 - answer.now;
      answer.events.forEach(function (event) {
        if (event.seq > cursor) {
          cursor = event.seq;
          if (handlers[event.kind]) { handlers[event.kind](event); }
        }
      });
      cursor = Math.max(cursor, answer.cursor);
      poll();
    }, retry(poll));
  }

  // What the operator does

  function send(id) {
    var chat = chats[id];
    var textarea = chat.pane.querySelector("textarea");
    var text = textarea.value;
    if (!text.trim() || chat.ended) { return; }
    textarea.value = "";
    costs(id);
    if (text.trim() === "/end") { act(id, "end"); return; }
    chat.composing = false;
    window.clearTimeout(chat.typingTimer);
    api("POST", "chats/" + id + "/messages", { text: text }).then(function (answer) {
      if (answer.error) { line(chat, "notice", null, "Not sent: " + answer.message); textarea.value = text; }
    }, function () { line(chat, "notice", null, "Not sent: the connection failed."); textarea.value = text; });
  }

  // SMS: what a reply will cost, counted by the server's segment rules

  function costs(id) {
    var chat = chats[id];
    if (chat.details.protocol !== "sms") { return; }
    var composer = chat.pane.querySelector(".composer");
    var shown = composer.querySelector(".sms-cost");
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "sms-cost";
      shown.setAttribute("aria-live", "polite");
      shown.dataset.smsCost = "";
      composer.appendChild(shown);
    }
    var textarea = chat.pane.querySelector("textarea");
    window.clearTimeout(chat.costTimer);
    if (!textarea.value.trim()) { shown.textContent = ""; return; }
    chat.costTimer = window.setTimeout(function () {
      var text = textarea.value;
      api("POST", "chats/" + id + "/segments", { text: text }).then(function (answer) {
        if (answer.error || textarea.value !== text) { return; }
        shown.textContent = answer.texts === 1 ? "Sent as 1 text" : "Sent as " + answer.texts + " texts";
      });
    }, 250);
  }

  function typed(id) {
    var chat = chats[id];
    if (chat.details.state !== "active" || chat.details.operator !== main.dataset.me) { return; }
    if (!chat.composing) {
      chat.composing = true;
      api("POST", "chats/" + id + "/typing", { state: "composing" });
    }
    window.clearTimeout(chat.typingTimer);
    chat.typingTimer = window.setTimeout(function () {
      chat.composing = false;
      api("POST", "chats/" + id + "/typing", { state: "paused" });
    }, 4000);
  }

  function act(id, operation) {
    api("POST", "chats/" + id + "/" + operation, {}).then(function (answer) {
      var chat = chats[id];
      if (!chat) { return; }
      if (answer.error) { line(chat, "notice", null, answer.message); return; }
      chat.details = answer.chat;
      render(chat);
    });
  }

  list.addEventListener("keydown", function (event) {
    var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (!step || event.altKey || !order.length) { return; }
    var index = order.indexOf(front);
    var next = order[(index + step + order.length) % order.length];
    show(next, false);
    chats[next].tab.focus();
    event.preventDefault();
  });

  document.getElementById("status").addEventListener("change", function (event) {
    api("POST", "status", { status: event.target.value });
  });

  document.addEventListener("keydown", function (event) {
    if (!event.altKey || !order.length) { return; }
    var index = order.indexOf(front);
    if (/^[1-9]$/.test(event.key) && order[Number(event.key) - 1] !== undefined) {
      show(order[Number(event.key) - 1], true);
    } else if (event.key === "ArrowDown") {
      show(order[(index + 1) % order.length], true);
    } else if (event.key === "ArrowUp") {
      show(order[(index - 1 + order.length) % order.length], true);
    } else { return; }
    event.preventDefault();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && front !== null && chats[front]) { chats[front].unread = 0; render(chats[front]); }
  });

  window.setInterval(function () { order.forEach(function (id) { render(chats[id]); }); }, 15000);

  openClient();
})();
