// The page's frame around the views: main navigation and the signed-in key hint.
import { session } from '../api.js';

const alertBar = document.getElementById('alert-bar');

export function showChrome(signedIn) {
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('session').hidden = !signedIn;
  if (!signedIn) {
    alertBar.hidden = true;
    alertBar.replaceChildren();
  } else {
    const key = session.key || '';
    document.getElementById('key-hint').textContent = `Key ${key.slice(0, 6)}…`;
  }
}
