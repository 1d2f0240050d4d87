// Passkeys (WebAuthn) on the security page and the sign-in's second step.
// A form with data-passkey="create" or "get" holds its options (JSON from the
// server, binary fields in base64url) and a hidden field for the answer: on
// submit the browser's ceremony runs first, then the form is sent with it.
(function () {
  "use strict";

  function fromB64url(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) { return Object.assign({}, item, {id: fromB64url(item.id)}); });
  }

  function creationOptions(json) {
    const options = Object.assign({}, json, {challenge: fromB64url(json.challenge)});
    options.user = Object.assign({}, json.user, {id: fromB64url(json.user.id)});
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    const options = Object.assign({}, json, {challenge: fromB64url(json.challenge)});
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJson(credential) {
    const response = credential.response;
    const answer = {clientDataJSON: toB64url(response.clientDataJSON)};
    if (response.attestationObject) {
      answer.attestationObject = toB64url(response.attestationObject);
      if (typeof response.getTransports === "function") answer.transports = response.getTransports();
    } else {
      answer.authenticatorData = toB64url(response.authenticatorData);
      answer.signature = toB64url(response.signature);
      if (response.userHandle) answer.userHandle = toB64url(response.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: answer,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    });
  }

  function wire(form) {
    const kind = form.dataset.passkey;
    const field = form.querySelector(kind === "create" ? "input[name=credential]" : "input[name=passkey]");
    const source = form.querySelector("script[type='application/json']");
    const errorBox = form.querySelector("[data-passkey-error]");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      errorBox.textContent = form.dataset.msgUnsupported;
      form.querySelector("button[type=submit]").disabled = true;
      return;
    }
    form.addEventListener("submit", function (event) {
      if (field.value) return; // the ceremony is done: send
      event.preventDefault();
      errorBox.textContent = "";
      const json = JSON.parse(source.textContent);
      const ceremony = kind === "create"
        ? navigator.credentials.create({publicKey: creationOptions(json)})
        : navigator.credentials.get({publicKey: requestOptions(json)});
      ceremony.then(function (credential) {
        field.value = credentialJson(credential);
        form.submit();
      }).catch(function () {
        errorBox.textContent = form.dataset.msgFailed;
      });
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(wire);
})();
