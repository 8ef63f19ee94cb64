// Progressive enhancement only: every page works without this file.
// Shift-click a row checkbox to select the range since the last clicked one.
(function () {
  var last = null;
  document.addEventListener("click", function (e) {
    var box = e.target;
    if (!(box instanceof HTMLInputElement) || box.name !== "issue") return;
    var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="issue"]'));
    if (e.shiftKey && last !== null) {
      var a = boxes.indexOf(last), b = boxes.indexOf(box);
      boxes.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { x.checked = box.checked; });
    }
    last = box;
  });
})();
// A "Copy" button on every block marked data-copy (the DSN, the SDK snippets).
(function () {
  function copy(text, button) {
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    // Plain-http sites get no clipboard API: copy through a selected, hidden text area.
    var area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) done(); } finally { document.body.removeChild(area); }
  }
  document.querySelectorAll("[data-copy]").forEach(function (block) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "Copy";
    button.addEventListener("click", function () { copy(block.textContent, button); });
    block.parentNode.insertBefore(button, block);
  });
})();
// Times: the exact time on hover in the viewer's own time zone (the page says UTC without this).
(function () {
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.title = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "long" });
  });
})();
// Choosing an assignee assigns; the button stays for pages without this script.
(function () {
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    var button = select.form.querySelector("button[type=submit]");
    if (button) button.hidden = true;
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
// Keyboard: "/" searches; j/k move through the issue list and Enter opens; on an issue, r
// resolves, i ignores, a picks the assignee. Never while typing, never with a modifier.
(function () {
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("tr.issue-row")); };
  var current = -1;
  function move(by) {
    var all = rows();
    if (!all.length) return;
    if (current >= 0 && all[current]) all[current].classList.remove("current-row");
    current = Math.max(0, Math.min(all.length - 1, current + by));
    all[current].classList.add("current-row");
    var link = all[current].querySelector("a.title");
    if (link) link.focus();
  }
  function click(id) { var el = document.getElementById(id); if (el) el.click(); }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.target.isContentEditable) return;
    var search = document.querySelector('input[type="search"]');
    switch (e.key) {
      case "/": if (search) { e.preventDefault(); search.focus(); search.select(); } break;
      case "j": move(1); break;
      case "k": move(-1); break;
      case "r": click("resolve"); break;
      case "i": click("ignore"); break;
      case "a": var who = document.getElementById("assignee-select"); if (who) { e.preventDefault(); who.focus(); } break;
    }
  });
})();
// The list's header box ticks every issue on the page.
(function () {
  var all = document.getElementById("select-page");
  if (!all) return;
  all.hidden = false;
  all.addEventListener("change", function () {
    document.querySelectorAll('input[name="issue"]').forEach(function (box) { box.checked = all.checked; });
  });
})();
