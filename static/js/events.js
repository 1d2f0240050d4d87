// Live events (/ws/events/, SPEC §4.7): what happens to your shares and
// requests while the page is open, without reloading. The page says what it
// wants in data attributes; the words come from #live-events (translated).
(function () {
  "use strict";

  var box = document.getElementById("live-events");
  if (!box || !window.WebSocket) return;
  var delay = 1000;

  function say(text) {
    var line = document.createElement("p");
    line.className = "live-event";
    line.textContent = text;
    box.appendChild(line);
    while (box.children.length > 5) box.removeChild(box.firstChild);
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  // The plural form of a number in the page's language; the words come in
  // the catalogue's forms (one, other), and Chinese has just one.
  function plural(count) {
    try { return new Intl.PluralRules(document.documentElement.lang || undefined).select(count); } catch (ignored) { return "other"; }
  }

  function formatSize(bytes) {
    var units = ["B", "KB", "MB", "GB", "TB"], value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  var handlers = {
    "drop.received": function (event) {
      var dropWords = plural(event.files) === "one" ? box.dataset.msgDropOne : box.dataset.msgDropOther;
      var text = fill(dropWords, { name: event.name || box.dataset.msgSomeone, files: event.files, title: event.title });
      say(text);
      var arrivals = document.querySelector("[data-arrivals]");
      if (arrivals) {
        var arrival = document.createElement("li");
        arrival.className = "arrival drop-new";
        var open = document.createElement("a");
        open.href = event.url;
        open.textContent = text;
        arrival.appendChild(open);
        arrival.appendChild(document.createTextNode(" · " + formatSize(event.size)));
        arrivals.insertBefore(arrival, arrivals.firstChild);
      }
      var counter = document.querySelector('[data-counter-of="' + event.request + '"]');
      if (counter && typeof event.received_files === "number") {
        var files = counter.querySelector(".received-files");
        files.dataset.files = String(event.received_files);
        files.textContent = fill(plural(event.received_files) === "one" ? counter.dataset.msgOne : counter.dataset.msgOther, { count: event.received_files });
        counter.querySelector(".received-size").textContent = formatSize(event.received_bytes);
      }
      var list = document.querySelector('[data-id="' + event.request + '"] .drops');
      if (!list) return;
      var none = list.querySelector(".drop-none");
      if (none) none.remove();
      var item = document.createElement("li");
      item.className = "drop-row drop-new";
      var link = document.createElement("a");
      link.href = event.url;
      link.textContent = event.name || box.dataset.msgSomeone;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" · " + formatSize(event.size)));
      list.insertBefore(item, list.firstChild);
    },
    "download.completed": function (event) {
      say(fill(box.dataset.msgDownload, { title: event.title, browser: event.browser || "?" }));
      document.querySelectorAll('[data-downloads-of="' + event.share + '"]').forEach(function (node) {
        node.textContent = String(event.downloads);
      });
    },
    "share.progress": function (event) {
      document.querySelectorAll('[data-progress-of="' + event.share + '"]').forEach(function (node) {
        var words = plural(event.items) === "one" ? box.dataset.msgProgressOne : box.dataset.msgProgressOther;
        node.textContent = fill(words, { items: event.items, size: formatSize(event.size) });
      });
      // A recipient waiting for a share being filled: downloads open once it is complete.
      if (event.complete && document.querySelector('[data-reload-when-complete="' + event.share + '"]')) {
        window.location.reload();
      }
    }
  };

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/events/");
    socket.addEventListener("open", function () {
      delay = 1000;
      box.dataset.connected = "true";
      document.querySelectorAll("[data-follow-share]").forEach(function (node) {
        socket.send(JSON.stringify({ follow: node.dataset.followShare }));
      });
    });
    socket.addEventListener("message", function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (ignored) { return; }
      if (event.type === "following") { box.dataset.following = (box.dataset.following || "") + event.share + " "; }
      if (handlers[event.type]) handlers[event.type](event);
    });
    socket.addEventListener("close", function () {
      box.dataset.connected = "false";
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
}());
