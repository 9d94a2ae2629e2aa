// A passkey as the second step of a sign-in (views/factors/passkey.ejs): the button runs the browser's passkey dialog
// with the request the page carries (bound to this step and this account) and posts the answer as the form, so the
// server answers with a page. SimpleWebAuthnBrowser is the library's bundle, served beside this script. Loaded as a
// module: its names are its own.
const { document, JSON, SimpleWebAuthnBrowser: webauthn } = globalThis;
const form = document.getElementById('passkey-factor-form');
const button = document.getElementById('passkey-factor-button');
const status = document.getElementById('passkey-factor-status');

async function usePasskey() {
  status.textContent = '';
  button.disabled = true;
  try {
    const credential = await webauthn.startAuthentication({ optionsJSON: JSON.parse(form.dataset.options) });
    form.elements.response.value = JSON.stringify(credential);
    form.submit();
  } catch (error) {
    button.disabled = false;
    status.textContent =
      error && error.name === 'NotAllowedError'
        ? 'No passkey was used. Try again, or use another way below.'
        : 'A passkey cannot be used in this browser. Use another way below.';
  }
}

if (form && button) {
  if (webauthn && webauthn.browserSupportsWebAuthn()) button.addEventListener('click', usePasskey);
  else {
    button.disabled = true;
    status.textContent = 'This browser cannot use passkeys. Use another way below.';
  }
}
