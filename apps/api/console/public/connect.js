// Connect pages (end customer, OAuth result). The pages work without this script; it adds:
// - the link SDK handshake: a page opened by /sdk/reauth-link.js carries `#origin=<host origin>`;
//   the origin is kept in this tab's sessionStorage (it survives the trip through the CRM's consent
//   page), and the final result page posts `{type, reauthorizationId, integrationId, error?}` to
//   window.opener with exactly that origin as targetOrigin (never '*');
// - "Back to the console" for an admin who left the console in this tab to sign in at the CRM;
// - a busy state on the token form, so a double click sends one token.
(function () {
  'use strict';

  var ORIGIN_KEY = 'reauth-link:origin';
  var CONSOLE_RETURN_KEY = 'reauth-console:return';

  function storage() {
    try {
      return window.sessionStorage;
    } catch {
      return null; // storage disabled: the page still works, without the extras
    }
  }

  /** A plain http(s) origin, exactly as `URL#origin` spells it; anything else is ignored. */
  function validOrigin(value) {
    try {
      var url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? value : null;
    } catch {
      return null;
    }
  }

  function captureSdkOrigin(store) {
    var hash = window.location.hash.replace(/^#/, '');
    if (!hash) return;
    var params = new URLSearchParams(hash);
    var origin = validOrigin(params.get('origin') || '');
    if (origin && store) store.setItem(ORIGIN_KEY, origin);
    // Keep the address bar clean (and the origin out of bookmarks).
    if (params.has('origin') && window.history.replaceState) {
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    }
  }

  function reportToOpener(store, main) {
    var type = main.getAttribute('data-result');
    if (type !== 'success' && type !== 'error') return;
    var origin = store && validOrigin(store.getItem(ORIGIN_KEY) || '');
    if (!origin || !window.opener || window.opener === window) return;
    var message = {
      type: 'reauth-link:' + type,
      reauthorizationId: main.getAttribute('data-reauthorization-id'),
      integrationId: main.getAttribute('data-integration-id'),
    };
    if (type === 'error') {
      message.error = {
        code: main.getAttribute('data-error-code') || 'failed',
        message: main.getAttribute('data-error-message') || 'The connection could not be completed.',
      };
    }
    try {
      window.opener.postMessage(message, origin);
    } catch {
      // The opener went away or navigated: nobody to tell.
    }
  }

  function offerConsoleReturn(store, main) {
    var link = document.querySelector('[data-console-return]');
    if (!link || !store) return;
    var raw = store.getItem(CONSOLE_RETURN_KEY);
    if (!raw) return;
    var info;
    try {
      info = JSON.parse(raw);
    } catch {
      return;
    }
    var pageIntegration = main.getAttribute('data-integration-id');
    if (!info || typeof info.integrationId !== 'string') return;
    if (pageIntegration && pageIntegration !== info.integrationId) return;
    link.setAttribute('href', '/console#/integrations/' + encodeURIComponent(info.integrationId));
    link.hidden = false;
  }

  function busyTokenForm() {
    var form = document.querySelector('form.token-form');
    if (!form) return;
    form.addEventListener('submit', function () {
      var button = form.querySelector('button[type="submit"]');
      if (!button) return;
      // After the browser has taken the submission: disabling first would cancel it in some browsers.
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = 'Verifying…';
      }, 0);
    });
  }

  var store = storage();
  captureSdkOrigin(store);
  var main = document.getElementById('main');
  if (main) {
    reportToOpener(store, main);
    offerConsoleReturn(store, main);
  }
  busyTokenForm();
})();
