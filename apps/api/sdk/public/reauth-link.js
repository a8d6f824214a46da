/*!
 * reauth-link.js — open a re-authorization magic link in a popup from your own product's UI and
 * hear back when it is done.
 *
 *   <script src="https://<api host>/sdk/reauth-link.js"></script>
 *   button.addEventListener('click', () => {
 *     ReauthLink.open({
 *       linkUrl,                                  // from POST /v1/link-tokens or …/reauthorizations
 *       onSuccess: ({ reauthorizationId, integrationId }) => { … },
 *       onError: ({ code, message }) => { … },     // a final failure (expired, cancelled, …)
 *       onClose: () => { … },                     // closed by the user before a result
 *     });
 *   });
 *
 * Security: the popup reports through window.postMessage. This script accepts a message only if
 * its `origin` is exactly the API's origin (where this script was loaded from, or `apiOrigin`) AND
 * its `source` is the popup it opened; the popup posts with this page's origin as targetOrigin.
 * Messages carry ids and an error code, never a credential.
 */
(function (global) {
  'use strict';

  var script = document.currentScript;
  var scriptOrigin = null;
  try {
    scriptOrigin = script && script.src ? new URL(script.src).origin : null;
  } catch {
    scriptOrigin = null;
  }

  var SUCCESS = 'reauth-link:success';
  var ERROR = 'reauth-link:error';
  var current = null;

  function call(fn, arg) {
    if (typeof fn !== 'function') return;
    try {
      fn(arg);
    } catch (err) {
      setTimeout(function () {
        throw err; // surface the host's bug without breaking the SDK
      });
    }
  }

  function popupFeatures(width, height) {
    var left = Math.max(0, Math.round((global.screenX || 0) + ((global.outerWidth || width) - width) / 2));
    var top = Math.max(0, Math.round((global.screenY || 0) + ((global.outerHeight || height) - height) / 2));
    return 'popup=yes,width=' + width + ',height=' + height + ',left=' + left + ',top=' + top;
  }

  /**
   * Opens the link in a popup. Call it from a click handler (browsers block popups otherwise).
   * Returns a handle `{ close(), closed }`, or null when the popup could not be opened (onError is
   * then called with code `popup_blocked` or `invalid_link`).
   */
  function open(options) {
    options = options || {};
    var apiOrigin = options.apiOrigin || scriptOrigin;
    var url;
    try {
      url = new URL(String(options.linkUrl || ''), apiOrigin || undefined);
    } catch {
      url = null;
    }
    if (!apiOrigin || !url || url.origin !== apiOrigin || !/^\/connect\/[A-Za-z0-9_-]+$/.test(url.pathname)) {
      call(options.onError, { code: 'invalid_link', message: 'linkUrl must be a connect link of ' + (apiOrigin || 'the API') + '.' });
      return null;
    }
    if (current) current.close();

    // Tells the connect page where to report; it keeps it for the rest of the popup's journey.
    url.hash = 'origin=' + encodeURIComponent(global.location.origin);
    var popup = global.open(url.href, 'reauth-link-' + Math.random().toString(36).slice(2), popupFeatures(options.width || 520, options.height || 720));
    if (!popup) {
      call(options.onError, { code: 'popup_blocked', message: 'The browser blocked the popup. Open the link from a click, or allow popups for this site.' });
      return null;
    }

    var finished = false;
    var timer = null;

    function cleanup() {
      global.removeEventListener('message', onMessage);
      if (timer) clearInterval(timer);
      timer = null;
      if (current === handle) current = null;
    }

    function onMessage(event) {
      if (finished) return;
      if (event.origin !== apiOrigin) return; // strictly the API's origin
      if (event.source !== popup) return; // and strictly our popup
      var data = event.data;
      if (!data || typeof data !== 'object' || (data.type !== SUCCESS && data.type !== ERROR)) return;
      finished = true;
      cleanup();
      var result = {
        reauthorizationId: typeof data.reauthorizationId === 'string' ? data.reauthorizationId : null,
        integrationId: typeof data.integrationId === 'string' ? data.integrationId : null,
      };
      if (data.type === SUCCESS) {
        if (options.closeOnSuccess !== false) {
          try {
            popup.close();
          } catch {
            /* already closed */
          }
        }
        call(options.onSuccess, result);
      } else {
        var error = data.error && typeof data.error === 'object' ? data.error : {};
        result.code = typeof error.code === 'string' ? error.code : 'failed';
        result.message = typeof error.message === 'string' ? error.message : 'The connection could not be completed.';
        call(options.onError, result);
      }
    }

    global.addEventListener('message', onMessage);
    timer = setInterval(function () {
      if (!popup.closed) return;
      cleanup();
      if (!finished) {
        finished = true;
        call(options.onClose);
      }
    }, 400);

    var handle = {
      close: function () {
        if (!popup.closed) popup.close();
      },
      get closed() {
        return popup.closed;
      },
    };
    current = handle;
    return handle;
  }

  global.ReauthLink = { open: open, version: '1.0.0' };
})(window);
