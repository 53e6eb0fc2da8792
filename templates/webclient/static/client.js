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
  var me = main.dataset.me;
  var maxFile = Number(main.dataset.maxFileSize) || 0;

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

  function upload(id, file) {
    return fetch("/client/api/chats/" + id + "/files", {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "x-csrf-token": csrf, "x-file-name": encodeURIComponent(file.name), "content-type": "application/octet-stream" }
    }).then(function (response) {
      if (response.status === 413) { return { error: "too-large", message: "The file is larger than " + size(maxFile) + "." }; }
      return response.json();
    });
  }

  function size(bytes) {
    if (bytes < 1000) { return bytes + " bytes"; }
    if (bytes < 1000000) { return (bytes / 1000).toFixed(1) + " kB"; }
    return (bytes / 1000000).toFixed(1) + " MB";
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
    var textarea = pane.querySelector(".composer textarea");
    textarea.id = "reply-" + id;
    pane.querySelector(".composer label").setAttribute("for", textarea.id);
    panes.appendChild(pane);
    chat = {
      details: details, pane: pane, tab: tab, item: item, unread: 0, ended: false, typingTimer: null,
      composing: false, transfer: null, canned: null, tags: [], visitor: null
    };
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
    wireTools(id, pane);
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
    var mine = d.state === "active" && d.operator === me && !chat.ended;
    var ringing = !chat.ended && (d.state === "waiting" || (d.state === "active" && d.operator !== me));
    if (chat.ended) { state = "Ended"; }
    else if (d.state === "waiting") { state = "Ringing: reply or take it to answer"; }
    else if (!mine) { state = "Transferred to you by " + (d.operator_name || d.operator) + ": reply or take it to answer"; }
    else if (chat.transfer) { state = "Your chat · transfer to " + chat.transfer + " pending: yours until someone there takes it"; }
    else { state = "Your chat"; }
    pane.querySelector(".pane-state").textContent = state;
    chat.tab.classList.toggle("ringing", ringing);
    var owner = d.operator === me;
    enable(pane, "transfer", mine && !chat.transfer);
    enable(pane, "tags", owner);
    enable(pane, "canned", mine);
    enable(pane, "file", mine);
    enable(pane, "transcript", owner);
    chat.tab.classList.toggle("ended", chat.ended);
    ["visitor", "email", "question", "page", "queue"].forEach(function (field) {
      pane.querySelector('[data-field="' + field + '"]').textContent = d[field] || "—";
    });
    if (chat.visitor && chat.visitor.page) { pane.querySelector('[data-field="page"]').textContent = chat.visitor.page; }
    pane.querySelector('[data-field="waiting"]').textContent = waited(d.created_at);
    pane.querySelector('[data-action="take"]').hidden = !ringing;
    pane.querySelector('[data-action="end"]').hidden = chat.ended;
    pane.querySelector('[data-action="close"]').hidden = !chat.ended;
    pane.querySelector(".composer").hidden = chat.ended;
    var unread = chat.tab.querySelector(".unread");
    unread.textContent = chat.unread ? String(chat.unread) : "";
    unread.setAttribute("aria-label", chat.unread + " unread");
    updateTitle();
  }

  function enable(pane, operation, on) {
    var button = pane.querySelector('[data-operation="' + operation + '"]');
    button.disabled = !on;
    if (!on && operation !== "file") { closeTool(pane, operation, false); }
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
    if (focus) { chats[id].pane.querySelector(".composer textarea").focus(); }
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

  function fileLine(chat, event) {
    var log = chat.pane.querySelector(".log");
    var item = document.createElement("li");
    item.className = "file from-" + event.from;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = event.from === "visitor" ? label(chat) + " sent a file" : "You sent a file";
    item.appendChild(who);
    var link = document.createElement("a");
    link.href = "/client/api/chats/" + event.chat + "/files/" + encodeURIComponent(event.id);
    link.setAttribute("download", event.name);
    link.textContent = event.name;
    item.appendChild(link);
    item.appendChild(document.createTextNode(" (" + size(event.size) + ")"));
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
    entry.transcript.forEach(function (message) {
      if (message.kind === "file") { fileLine(chat, Object.assign({ chat: entry.details.id }, message)); } else { said(chat, message); }
    });
    render(chat);
    loadDetails(entry.details.id);
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
    taken: function (event) { var chat = paneFor(event.details); render(chat); loadDetails(event.chat); },
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
      if (!chat) { return; }
      if (chat.fileNotice && event.text.indexOf(chat.fileNotice) === 0) { chat.fileNotice = null; return; }
      line(chat, "notice", null, event.text);
      announce(event.text);
    },
    transfer: function (event) {
      var chat = chats[event.chat];
      if (!chat) { return; }
      if (event.state === "pending") {
        chat.transfer = chat.transferLabel || event.to;
        line(chat, "notice", null, "Transfer to " + event.to + " pending" + (event.note ? " (note: " + event.note + ")" : "") + ".");
      } else if (event.state === "returned") {
        chat.transfer = null;
        line(chat, "notice", null, "The transfer was called off; the chat is still yours.");
      } else if (event.state === "taken") {
        chat.transfer = null;
        line(chat, "notice", null, "The transfer was taken.");
      }
      render(chat);
    },
    file: function (event) {
      var chat = chats[event.chat];
      if (!chat) { return; }
      fileLine(chat, event);
      if (event.from === "visitor") {
        // The notice that follows says the same, with a link for XMPP clients.
        chat.fileNotice = "The visitor sent a file: " + event.name + " (";
        announce(label(chat) + " sent the file " + event.name);
        if (notFront(event.chat)) { chat.unread += 1; alertOperator(label(chat), "sent a file: " + event.name); render(chat); }
      }
    },
    email: function (event) {
      var chat = chats[event.chat];
      // Sent and failed come as notices too, in words.
      if (chat && event.status === "queued") { line(chat, "notice", null, "E-mailing the transcript to " + event.to + "…"); }
    },
    tags: function (event) {
      var chat = chats[event.chat];
      if (chat) { showTags(chat, event.tags); }
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
    var textarea = chat.pane.querySelector(".composer textarea");
    var text = textarea.value;
    if (!text.trim() || chat.ended) { return; }
    textarea.value = "";
    costs(id);
    if (text.trim() === "/end") { act(id, "end"); return; }
    var canned = /^\/([a-z0-9][a-z0-9_-]{0,31})$/i.exec(text.trim());
    if (canned) { sendCanned(id, canned[1], text); return; }
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
    // The reply's own box: the tools' panels (a transfer's note) have theirs.
    var textarea = composer.querySelector("textarea");
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

  // Chat operations: panels in the pane, one open at a time.

  function tool(pane, name) { return pane.querySelector('[data-tool="' + name + '"]'); }

  function problem(panel, text) { panel.querySelector(".tool-error").textContent = text || ""; }

  function openTool(id, name) {
    var chat = chats[id];
    var button = chat.pane.querySelector('[data-operation="' + name + '"]');
    if (button.disabled) { return; }
    if (name === "file") { chat.pane.querySelector(".file-input").click(); return; }
    ["transfer", "tags", "canned", "transcript"].forEach(function (other) {
      if (other !== name) { closeTool(chat.pane, other, false); }
    });
    var panel = tool(chat.pane, name);
    problem(panel, "");
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    var prepare = { transfer: loadTargets, tags: suggestTags, canned: loadCanned, transcript: prepareTranscript }[name];
    prepare(id, panel);
    var first = panel.querySelector("input:not([type=radio]), textarea, button");
    if (name !== "transfer" && first) { first.focus(); }
  }

  function closeTool(pane, name, focus) {
    var panel = tool(pane, name);
    if (!panel || panel.hidden) { return; }
    panel.hidden = true;
    var button = pane.querySelector('[data-operation="' + name + '"]');
    button.setAttribute("aria-expanded", "false");
    if (focus) { pane.querySelector(".composer textarea").focus(); }
  }

  function refused(chat, panel, answer) {
    var text = answer.message || "That did not work.";
    if (panel) { problem(panel, text); }
    line(chat, "notice", null, text);
    return text;
  }

  function wireTools(id, pane) {
    pane.querySelectorAll("[data-operation]").forEach(function (button) {
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", function () {
        var panel = tool(pane, button.dataset.operation);
        if (panel && !panel.hidden) { closeTool(pane, button.dataset.operation, true); } else { openTool(id, button.dataset.operation); }
      });
    });
    pane.querySelectorAll(".tool [data-close]").forEach(function (button) {
      button.addEventListener("click", function () { closeTool(pane, button.closest(".tool").dataset.tool, true); });
    });
    pane.querySelectorAll(".tool").forEach(function (panel) {
      panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { event.preventDefault(); closeTool(pane, panel.dataset.tool, true); }
      });
    });
    var datalist = pane.querySelector(".tag-suggestions");
    datalist.id = "tag-suggestions-" + id;
    var tagInput = pane.querySelector('.tags-form input[name="tags"]');
    tagInput.setAttribute("list", datalist.id);
    tagInput.addEventListener("input", function () { suggestTags(id, tool(pane, "tags")); });
    pane.querySelector(".transfer-form").addEventListener("submit", function (event) { event.preventDefault(); transfer(id); });
    pane.querySelector(".tags-form").addEventListener("submit", function (event) { event.preventDefault(); addTags(id); });
    pane.querySelector(".transcript-form").addEventListener("submit", function (event) { event.preventDefault(); emailTranscript(id); });
    var input = pane.querySelector(".file-input");
    input.id = "file-" + id;
    input.setAttribute("aria-label", "File to send");
    input.addEventListener("change", function () {
      var file = input.files[0];
      input.value = "";
      if (file) { sendFile(id, file); }
    });
  }

  function loadTargets(id, panel) {
    var box = panel.querySelector(".targets");
    box.innerHTML = '<p class="hint">Looking for who is available…</p>';
    api("POST", "chats/" + id + "/transfer-targets").then(function (answer) {
      box.textContent = "";
      if (answer.error) { problem(panel, answer.message); return; }
      if (!answer.targets.length) { box.innerHTML = '<p class="hint">Nobody else is available now.</p>'; return; }
      answer.targets.forEach(function (target, index) {
        var choice = document.createElement("label");
        choice.className = "choice";
        var radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "target-" + id;
        radio.value = target.kind + ":" + target.name;
        if (index === 0) { radio.checked = true; }
        choice.appendChild(radio);
        radio.dataset.label = target.label;
        var kind = target.kind === "queue" ? "queue, " + target.available + " available" : "operator";
        choice.appendChild(document.createTextNode(" " + target.label + " (" + kind + ")"));
        box.appendChild(choice);
      });
      box.querySelector("input").focus();
    });
  }

  function transfer(id) {
    var chat = chats[id];
    var panel = tool(chat.pane, "transfer");
    var chosen = panel.querySelector("input[type=radio]:checked");
    if (!chosen) { problem(panel, "Choose where to transfer the chat."); return; }
    var parts = chosen.value.split(":");
    var note = panel.querySelector('textarea[name="note"]');
    chat.transferLabel = chosen.dataset.label;
    api("POST", "chats/" + id + "/transfer", { kind: parts[0], name: parts.slice(1).join(":"), note: note.value }).then(function (answer) {
      if (answer.error) { refused(chat, panel, answer); return; }
      note.value = "";
      closeTool(chat.pane, "transfer", true);
    });
  }

  function showTags(chat, tags) {
    chat.tags = tags;
    var listing = chat.pane.querySelector(".tag-list");
    listing.textContent = "";
    chat.pane.querySelector(".no-tags").hidden = tags.length > 0;
    tags.forEach(function (name) {
      var item = document.createElement("li");
      item.className = "tag";
      item.appendChild(document.createTextNode(name));
      if (chat.details.operator === me) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "tag-remove";
        remove.textContent = "×";
        remove.setAttribute("aria-label", "Remove tag " + name);
        remove.addEventListener("click", function () { removeTag(chat.details.id, name); });
        item.appendChild(remove);
      }
      listing.appendChild(item);
    });
  }

  function suggestTags(id, panel) {
    var chat = chats[id];
    var input = panel.querySelector('input[name="tags"]');
    var prefix = input.value.split(",").pop().trim();
    api("POST", "chats/" + id + "/tag-suggestions", { prefix: prefix }).then(function (answer) {
      if (answer.error) { return; }
      var datalist = chat.pane.querySelector(".tag-suggestions");
      var before = input.value.indexOf(",") >= 0 ? input.value.slice(0, input.value.lastIndexOf(",") + 1) + " " : "";
      datalist.textContent = "";
      answer.suggestions.forEach(function (name) {
        var option = document.createElement("option");
        option.value = before + name;
        datalist.appendChild(option);
      });
    });
  }

  function addTags(id) {
    var chat = chats[id];
    var panel = tool(chat.pane, "tags");
    var input = panel.querySelector('input[name="tags"]');
    if (!input.value.trim()) { problem(panel, "Type a tag to add."); return; }
    api("POST", "chats/" + id + "/tags", { tags: input.value }).then(function (answer) {
      if (answer.error) { refused(chat, panel, answer); return; }
      input.value = "";
      problem(panel, "");
      showTags(chat, answer.tags);
      announce("Tags: " + answer.tags.join(", "));
    });
  }

  function removeTag(id, name) {
    var chat = chats[id];
    api("POST", "chats/" + id + "/untag", { tag: name }).then(function (answer) {
      if (answer.error) { refused(chat, null, answer); return; }
      showTags(chat, answer.tags);
      announce("Removed the tag " + name);
    });
  }

  function loadCanned(id, panel) {
    var chat = chats[id];
    var listing = panel.querySelector(".canned-list");
    api("POST", "chats/" + id + "/canned").then(function (answer) {
      listing.textContent = "";
      if (answer.error) { problem(panel, answer.message); return; }
      chat.canned = answer.canned;
      if (!answer.canned.length) { listing.innerHTML = '<li class="hint">No canned messages for this chat.</li>'; return; }
      answer.canned.forEach(function (canned) {
        var item = document.createElement("li");
        var name = document.createElement("strong");
        name.textContent = "/" + canned.name;
        var text = document.createElement("span");
        text.className = "canned-text";
        text.textContent = canned.text;
        var insert = document.createElement("button");
        insert.type = "button";
        insert.className = "button";
        insert.textContent = "Insert";
        insert.setAttribute("aria-label", "Insert /" + canned.name);
        insert.addEventListener("click", function () {
          var reply = chat.pane.querySelector(".composer textarea");
          reply.value = reply.value ? reply.value + " " + canned.text : canned.text;
          closeTool(chat.pane, "canned", true);
        });
        var sendNow = document.createElement("button");
        sendNow.type = "button";
        sendNow.className = "button button-primary";
        sendNow.textContent = "Send";
        sendNow.setAttribute("aria-label", "Send /" + canned.name);
        sendNow.addEventListener("click", function () { sendCanned(id, canned.name); closeTool(chat.pane, "canned", true); });
        item.append(name, text, insert, sendNow);
        listing.appendChild(item);
      });
    });
  }

  function sendCanned(id, name, typed) {
    var chat = chats[id];
    api("POST", "chats/" + id + "/send-canned", { name: name }).then(function (answer) {
      if (answer.error) {
        refused(chat, null, answer.error === "unknown-canned" ? { message: "No canned message is called /" + name + "." } : answer);
        if (typed) { chat.pane.querySelector(".composer textarea").value = typed; }
      }
    });
  }

  function sendFile(id, file) {
    var chat = chats[id];
    if (maxFile && file.size > maxFile) { refused(chat, null, { message: file.name + " is too large: files are limited to " + size(maxFile) + "." }); return; }
    line(chat, "notice", null, "Sending " + file.name + " (" + size(file.size) + ")…");
    upload(id, file).then(function (answer) {
      if (answer.error) { refused(chat, null, { message: file.name + " was not sent: " + answer.message }); }
    }, function () { refused(chat, null, { message: file.name + " was not sent: the connection failed." }); });
  }

  function prepareTranscript(id, panel) {
    var input = panel.querySelector('input[name="to"]');
    if (!input.value) { input.value = chats[id].details.email || ""; }
  }

  function emailTranscript(id) {
    var chat = chats[id];
    var panel = tool(chat.pane, "transcript");
    var to = panel.querySelector('input[name="to"]').value.trim();
    api("POST", "chats/" + id + "/transcript", to ? { to: to } : {}).then(function (answer) {
      if (answer.error) { refused(chat, panel, answer); return; }
      closeTool(chat.pane, "transcript", true);
    });
  }

  function loadDetails(id) {
    api("POST", "chats/" + id + "/details").then(function (answer) {
      var chat = chats[id];
      if (!chat || answer.error) { return; }
      var d = answer.details;
      chat.visitor = d;
      ["ip", "referrer", "user_agent", "protocol"].forEach(function (field) {
        chat.pane.querySelector('[data-slot="' + field + '"]').textContent = d[field] || "—";
      });
      var earlier = chat.pane.querySelector(".earlier");
      earlier.textContent = "";
      chat.pane.querySelector(".no-earlier").hidden = d.earlier.length > 0;
      d.earlier.forEach(function (past) {
        var item = document.createElement("li");
        var when = new Date(past.started_at * 1000);
        item.textContent = when.toLocaleString() + " · " + (past.queue || "") + " · " + (past.operator_name || past.state);
        earlier.appendChild(item);
      });
      chat.transfer = d.transfer_pending && d.operator === me ? (chat.transfer || "a colleague") : null;
      showTags(chat, d.tags);
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

  var SHORTCUTS = { t: "transfer", g: "tags", c: "canned", f: "file", e: "transcript" };

  function letter(event) {
    // Alt changes event.key on some keyboards; the key's place does not.
    return /^Key[A-Z]$/.test(event.code || "") ? event.code.slice(3).toLowerCase() : String(event.key).toLowerCase();
  }

  document.addEventListener("keydown", function (event) {
    if (!event.altKey || !order.length) { return; }
    var index = order.indexOf(front);
    if (/^[1-9]$/.test(event.key) && order[Number(event.key) - 1] !== undefined) {
      show(order[Number(event.key) - 1], true);
    } else if (event.key === "ArrowDown") {
      show(order[(index + 1) % order.length], true);
    } else if (event.key === "ArrowUp") {
      show(order[(index - 1 + order.length) % order.length], true);
    } else if (front !== null && chats[front] && SHORTCUTS[letter(event)]) {
      openTool(front, SHORTCUTS[letter(event)]);
    } else { return; }
    event.preventDefault();
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && front !== null && chats[front]) { chats[front].unread = 0; render(chats[front]); }
  });

  window.setInterval(function () { order.forEach(function (id) { render(chats[id]); }); }, 15000);

  openClient();
})();
