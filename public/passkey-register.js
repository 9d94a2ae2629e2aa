// Adding a passkey on the account page (src/web/account-passkeys.ts): on sending the form, fetch the registration
// options (a challenge bound to this session), let the browser create the passkey, and send the form on with its
// answer; the server answers with the account page or this page saying what went wrong. SimpleWebAuthnBrowser is the
// library's bundle, served beside this script. Loaded as a module: its names are its own.
const { document, fetch, FormData, URLSearchParams, SimpleWebAuthnBrowser: webauthn } = globalThis;
const form = document.getElementById('passkey-new-form');
const problem = document.getElementById('passkey-problem');

function say(message) {
  problem.textContent = message;
  problem.hidden = false;
}

/** The options for a new passkey, or the server's reason for refusing them. */
async function registrationOptions() {
  const body = new URLSearchParams({ _csrf: new FormData(form).get('_csrf') });
  const answer = await fetch(form.dataset.options, { method: 'POST', body, headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const json = await answer.json().catch(() => null);
  if (!answer.ok) throw new Error(json?.detail ?? 'the server would not start adding a passkey: reload the page');
  return json;
}

async function createPasskey(event) {
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  problem.hidden = true;
  let options;
  try {
    options = await registrationOptions();
  } catch (error) {
    button.disabled = false;
    return say(`${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`);
  }
  try {
    form.elements.response.value = JSON.stringify(await webauthn.startRegistration({ optionsJSON: options }));
  } catch (error) {
    button.disabled = false;
    return say(
      error && error.name === 'InvalidStateError'
        ? 'This device already holds a passkey of yours for this server.'
        : 'No passkey was created. Try again when your device asks.',
    );
  }
  form.submit();
}

if (form && webauthn && webauthn.browserSupportsWebAuthn()) {
  form.addEventListener('submit', createPasskey);
} else if (form) {
  say('This browser cannot create passkeys.');
}
