// The register form, enhanced: typing the ChillFi3 address fills the three URIs under Advanced as the server would on
// sending (src/web/instance-form.ts), so they can be seen and changed before. A URI someone typed is left alone. The
// form works the same without this script: the server fills the URIs left empty. Loaded as a module: its names are its own.
const { document, URL } = globalThis;
const address = document.getElementById('instance-address');
/** The field's id and the path the SDK's routes answer on at the address. */
const DERIVED = [
  ['instance-redirect-uris', '/auth/callback'],
  ['instance-post-logout-uris', '/'],
  ['instance-backchannel-uri', '/auth/backchannel-logout'],
];

/** The address as the base of its URIs (no trailing slash), or null while it is no http(s) address alone. */
function base(value) {
  let url;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

if (address) {
  /** What this script last wrote into each field: a field still holding it was not typed in. */
  const filled = new Map();
  address.addEventListener('input', function fillUris() {
    const from = base(address.value);
    for (const [id, path] of DERIVED) {
      const field = document.getElementById(id);
      if (!field || (field.value !== '' && field.value !== filled.get(id))) continue;
      field.value = from === null ? '' : `${from}${path}`;
      filled.set(id, field.value);
    }
  });
}
