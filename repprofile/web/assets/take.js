/* repprofile candidate pages: save each answer as it is given (POST /take/TOKEN/answers
   with X-CSRF-Token), say so politely, and time each answer from the page's load or the
   answer before. The pages work without this script: the form posts each page. */
(function () {
  "use strict";

  function start() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    var form = document.getElementById("take-form");
    if (!form || !window.fetch) { return; }
    var url = form.getAttribute("data-save-url");
    var page = parseInt(form.getAttribute("data-page"), 10);
    var csrf = form.querySelector("input[name=csrf]").value;
    var status = document.getElementById("save-status");
    var bar = document.getElementById("progress");
    var barText = document.getElementById("progress-text");
    var last = (window.performance && performance.now) ? performance.now() : Date.now();
    var queue = [];
    var busy = false;

    function now() {
      return (window.performance && performance.now) ? performance.now() : Date.now();
    }

    function say(text, failed) {
      if (!status) { return; }
      status.textContent = text;
      status.className = failed ? "save-status failed" : "save-status";
    }

    function progress(answered, total) {
      if (bar) { bar.value = answered; bar.max = total; }
      if (barText) {
        barText.textContent = form.getAttribute("data-progress")
          .replace("{answered}", String(answered)).replace("{total}", String(total));
      }
    }

    function send() {
      if (busy || queue.length === 0) { return; }
      busy = true;
      var batch = queue.splice(0, queue.length);
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ answers: batch, page: page })
      }).then(function (resp) {
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.json();
      }).then(function (doc) {
        progress(doc.answered, doc.total);
        say(form.getAttribute("data-saved"), false);
      }).catch(function () {
        say(form.getAttribute("data-failed"), true);
      }).then(function () {
        busy = false;
        send();
      });
    }

    form.addEventListener("change", function (event) {
      var input = event.target;
      if (!input || input.type !== "radio" || !input.hasAttribute("data-item")) { return; }
      var t = now();
      var seconds = Math.max(0, (t - last) / 1000);
      last = t;
      // a newer answer to the same part replaces one still waiting to be sent
      var item = input.getAttribute("data-item");
      var part = input.getAttribute("data-part") || "";
      queue = queue.filter(function (a) { return !(a.item === item && a.part === part); });
      queue.push({ item: item, part: part, value: input.value,
                   seconds: Math.round(seconds * 1000) / 1000 });
      send();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
