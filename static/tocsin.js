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
