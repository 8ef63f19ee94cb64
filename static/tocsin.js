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
