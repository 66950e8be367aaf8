import { loadConfig } from '../../src/config.js';
import { DEFAULT_SCOPE_V2 } from '../../src/fhir/auth/scopes.js';

describe('loadConfig', () => {
  test('defaults: port 8080, ./data, embedded FHIR server, generated token', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', fhirBaseUrl: undefined, apiTokens: undefined, logLevel: 'info' });
    expect(c.dataDir).toMatch(/data$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  test('reads every documented variable', () => {
    const c = loadConfig({
      PORT: '9000',
      DATA_DIR: '/tmp/x',
      API_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      FHIR_BASE_URL: 'https://ehr.example.org/fhir/',
      FHIR_AUTH_TYPE: 'bearer',
      FHIR_AUTH_TOKEN: 'secret',
      MRN_SYSTEM: 'urn:oid:1.2.3',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      port: 9000,
      dataDir: '/tmp/x',
      apiTokens: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
      fhirBaseUrl: 'https://ehr.example.org/fhir',
      fhirAuth: { type: 'bearer', token: 'secret' },
      mrnSystem: 'urn:oid:1.2.3',
      logLevel: 'debug',
    });
  });

  test('names every problem in one error', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', FHIR_BASE_URL: 'not a url', FHIR_AUTH_TYPE: 'bearer', API_TOKENS: 'short' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('PORT must be a whole number');
    expect(message).toContain('LOG_LEVEL must be one of');
    expect(message).toContain('FHIR_BASE_URL must be an absolute');
    expect(message).toContain('FHIR_AUTH_TOKEN is required');
    expect(message).toContain('API_TOKENS must be');
  });

  test('FHIR_AUTH_*: client-credentials and smart-backend, with their defaults', () => {
    const base = { FHIR_BASE_URL: 'https://ehr.example.org/fhir', FHIR_AUTH_CLIENT_ID: 'collateral' };
    expect(loadConfig({ ...base, FHIR_AUTH_TYPE: 'client-credentials', FHIR_AUTH_CLIENT_SECRET: 's' }).fhirAuth).toEqual({
      type: 'client-credentials',
      clientId: 'collateral',
      clientSecret: 's',
      secretMethod: 'basic',
      tokenUrl: undefined,
      scope: DEFAULT_SCOPE_V2,
      scopeConfigured: false,
    });
    const smart = loadConfig({
      ...base,
      FHIR_AUTH_TYPE: 'smart-backend',
      FHIR_AUTH_PRIVATE_KEY_FILE: 'keys/private.pem',
      FHIR_AUTH_TOKEN_URL: 'https://ehr.example.org/oauth2/token',
      FHIR_AUTH_KEY_ID: 'k1',
      FHIR_AUTH_ALG: 'ES384',
      FHIR_AUTH_SCOPE: ' system/DocumentReference.cu   system/Patient.rs ',
    }).fhirAuth;
    expect(smart).toMatchObject({
      type: 'smart-backend',
      tokenUrl: 'https://ehr.example.org/oauth2/token',
      keyId: 'k1',
      alg: 'ES384',
      scope: 'system/DocumentReference.cu system/Patient.rs',
    });
    expect(smart.privateKeyFile).toBe(`${process.cwd()}/keys/private.pem`);
  });

  test('FHIR_AUTH_*: every problem named, no secret repeated', () => {
    let message = '';
    try {
      loadConfig({
        FHIR_BASE_URL: 'http://ehr.example.org/fhir',
        FHIR_AUTH_TYPE: 'smart-backend',
        FHIR_AUTH_ALG: 'RS256',
        FHIR_AUTH_TOKEN_URL: 'http://ehr.example.org/token',
        FHIR_AUTH_CLIENT_SECRET: 'top-secret-value',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n').slice(1)).toEqual([
      '  - FHIR_AUTH_CLIENT_SECRET is set but not used when FHIR_AUTH_TYPE is smart-backend',
      '  - FHIR_BASE_URL must use https when FHIR_AUTH_TYPE sends credentials (http only to localhost)',
      '  - FHIR_AUTH_CLIENT_ID is required when FHIR_AUTH_TYPE is smart-backend',
      '  - FHIR_AUTH_TOKEN_URL must use https (http only to localhost) (got "http://ehr.example.org/token")',
      '  - FHIR_AUTH_PRIVATE_KEY_FILE is required when FHIR_AUTH_TYPE is smart-backend',
      '  - FHIR_AUTH_ALG must be one of RS384, ES384 (got "RS256")',
    ]);
    expect(() => loadConfig({ FHIR_AUTH_TYPE: 'client-credentials', FHIR_AUTH_CLIENT_ID: 'c', FHIR_AUTH_CLIENT_SECRET: 's' })).toThrow(
      'FHIR_AUTH_TYPE=client-credentials needs FHIR_BASE_URL'
    );
    expect(() => loadConfig({ FHIR_AUTH_TYPE: 'oauth' })).toThrow('FHIR_AUTH_TYPE must be one of none, bearer, client-credentials, smart-backend');
    // Loopback http is fine (a local proxy, the tests).
    expect(loadConfig({ FHIR_BASE_URL: 'http://127.0.0.1:9/fhir', FHIR_AUTH_TOKEN: 't' }).fhirAuth.type).toBe('bearer');
  });
});
