// The /ws-echo/ page: connect to /ws/echo/, send what is typed, show what comes back.
(function () {
  "use strict";

  var root = document.getElementById("ws-echo");
  if (!root) { return; }
  var status = document.getElementById("ws-status");
  var form = document.getElementById("ws-form");
  var input = document.getElementById("ws-message");
  var send = document.getElementById("ws-send");
  var reconnect = document.getElementById("ws-reconnect");
  var log = document.getElementById("ws-log");
  var text = root.dataset;
  var socket = null;

  function show(kind, message) {
    var item = document.createElement("li");
    item.className = "ws-" + kind;
    var label = document.createElement("span");
    label.className = "ws-kind";
    label.textContent = kind === "sent" ? text.textSent : text.textReceived;
    var body = document.createElement("span");
    body.className = "ws-body";
    body.textContent = message;  // never innerHTML: echoes are user input
    item.appendChild(label);
    item.appendChild(document.createTextNode(" "));
    item.appendChild(body);
    log.appendChild(item);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + text.path);
    socket.binaryType = "arraybuffer";
    status.textContent = text.textConnecting;
    reconnect.hidden = true;
    socket.addEventListener("open", function () {
      status.textContent = text.textOpen;
      status.dataset.state = "open";
      send.disabled = false;
    });
    socket.addEventListener("message", function (event) {
      var data = event.data;
      if (typeof data !== "string") {
        data = new TextDecoder().decode(data);
      }
      show("received", data);
    });
    socket.addEventListener("close", function (event) {
      status.textContent = text.textClosed.replace("{code}", event.code);
      status.dataset.state = "closed";
      send.disabled = true;
      reconnect.hidden = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!socket || socket.readyState !== WebSocket.OPEN || !input.value) { return; }
    socket.send(input.value);
    show("sent", input.value);
    input.value = "";
    input.focus();
  });
  reconnect.addEventListener("click", connect);
  connect();
})();
