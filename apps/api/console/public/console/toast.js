// A short message at the bottom of the screen (a polite live region), gone after five seconds.
const toastEl = document.getElementById('toast');
let hideTimer = null; // presentation only: the one pending "hide" of the one toast element

export function toast(message) {
  toastEl.textContent = message;
  toastEl.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => {
    toastEl.hidden = true;
  }, 5000);
}
