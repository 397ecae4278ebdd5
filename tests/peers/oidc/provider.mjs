// A real OpenID provider for sopdesk's sign-in tests: oidc-provider (the npm package, certified
// OpenID Connect) on a loopback port, with one confidential client, its own RSA signing key, a
// login page of its own and consent given for the client (a first-party application). Started by
// services/assignment/tests/peers.py with the path of a JSON setup file:
//   {issuer, port, client_id, client_secret, redirect_uris, accounts: {id: {password, disabled?, claims}}}
// An account marked disabled is refused at the login: the provider answers the client with
// error=access_denied, as Google or Entra ID do for a suspended user.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const setup = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };

const provider = new Provider(setup.issuer, {
  clients: [{
    client_id: setup.client_id,
    client_secret: setup.client_secret,
    redirect_uris: setup.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = setup.accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account.claims }; } };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(body))));
    req.on('error', reject);
  });
}

function loginPage(res, uid, message = '') {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Test provider: sign in</title><h1>Test provider</h1>
<p id="message">${escape(message)}</p>
<form method="post" action="/interaction/${escape(uid)}/login">
<input id="login" name="login" autocomplete="username"><input id="password" name="password" type="password">
<button id="submit" type="submit">Sign in</button></form>`);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'POST' && req.url.endsWith('/login')) {
    const form = await readForm(req);
    const account = setup.accounts[form.login];
    if (!account || account.password !== form.password) {
      return loginPage(res, uid, 'Wrong login or password.');
    }
    if (account.disabled) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'This account is disabled.' },
        { mergeWithLastSubmission: false });
    }
    return provider.interactionFinished(req, res, { login: { accountId: form.login } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') return loginPage(res, uid);
  // consent: the client is the organisation's own application, so what it asks is granted
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const handle = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`interaction failed: ${error.message}`);
    });
    return;
  }
  handle(req, res);
});
server.listen(setup.port, '127.0.0.1', () => console.log(`oidc-provider listening at ${setup.issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
