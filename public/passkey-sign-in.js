// Passkey-first sign-in on the login page (src/interactions/passkey-sign-in.ts). Where the browser has WebAuthn it
// shows the "Sign in with a passkey" button and, where it offers passkeys in the username field's autofill
// (conditional mediation), waits for one there too. Either way the answer is posted as the page's passkey form, so the
// server answers with a page as it does for a password. SimpleWebAuthnBrowser is the library's bundle, served
// beside this script. Loaded as a module: its names are its own.
const { document, fetch, SimpleWebAuthnBrowser: webauthn } = globalThis;
const box = document.getElementById('passkey-sign-in');
const form = document.getElementById('passkey-form');
const button = document.getElementById('passkey-button');
const status = document.getElementById('passkey-status');

/** Fresh options (a new challenge for this sign-in) from the server. */
async function passkeyOptions() {
  const answer = await fetch(box.dataset.options, { method: 'POST', headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!answer.ok) throw new Error('the server gave no passkey options');
  return answer.json();
}

function send(credential) {
  form.elements.response.value = JSON.stringify(credential);
  form.submit();
}

/** Offers this server's passkeys in the username field's autofill, until one is picked or the button takes over. */
async function offerInAutofill() {
  if (!(await webauthn.browserSupportsWebAuthnAutofill())) return;
  try {
    send(await webauthn.startAuthentication({ optionsJSON: await passkeyOptions(), useBrowserAutofill: true }));
  } catch {
    // Cancelled by the button's own request, or nothing picked: the form and the button are still there.
  }
}

async function signInWithPasskey() {
  status.textContent = '';
  button.disabled = true;
  try {
    send(await webauthn.startAuthentication({ optionsJSON: await passkeyOptions() }));
  } catch (error) {
    button.disabled = false;
    status.textContent =
      error && error.name === 'NotAllowedError'
        ? 'No passkey was used. Try again, or sign in with your password.'
        : 'Signing in with a passkey did not work here. Reload the page, or sign in with your password.';
    offerInAutofill();
  }
}

if (box && form && button && webauthn && webauthn.browserSupportsWebAuthn()) {
  box.hidden = false;
  button.addEventListener('click', signInWithPasskey);
  offerInAutofill();
}
