// The example host page of the link SDK (CSP-friendly: no inline script).
(function () {
  'use strict';
  var form = document.getElementById('example-form');
  var input = document.getElementById('link-url');
  var events = document.getElementById('events');
  var first = true;

  function log(kind, text) {
    if (first) {
      events.replaceChildren();
      first = false;
    }
    var li = document.createElement('li');
    li.className = kind;
    li.textContent = new Date().toLocaleTimeString() + '  ' + text;
    events.appendChild(li);
  }

  var fromHash = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('link');
  if (fromHash) input.value = fromHash;

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    window.ReauthLink.open({
      linkUrl: input.value.trim(),
      onSuccess: function (r) {
        log('ok', 'onSuccess ' + JSON.stringify(r));
      },
      onError: function (e) {
        log('error', 'onError ' + JSON.stringify(e));
      },
      onClose: function () {
        log('', 'onClose (closed before a result)');
      },
    });
  });
})();
