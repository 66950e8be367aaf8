import { loadConfig } from '../../src/config.js';

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
});
