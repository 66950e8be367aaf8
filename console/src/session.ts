/**
 * The signed-in credential: the API token, kept in sessionStorage (gone when the tab closes, never in
 * a URL or a cookie), and who it is (GET /api/v1/me).
 */
const KEY = 'collateral-fhir.token';

export interface Me {
  name: string;
  roles: string[];
  /** False: PHI in every answer is masked for this credential. */
  identified: boolean;
}

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/** admin may do everything; otherwise any of the roles. */
export function allowed(me: Me | undefined, roles: readonly string[] | 'all'): boolean {
  if (!me) return false;
  return roles === 'all' || me.roles.includes('admin') || me.roles.some((r) => roles.includes(r));
}
