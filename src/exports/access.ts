/**
 * Who may export what (issue #10's roles, src/auth/principal.ts): the analyst gets de-identified output
 * only; identified output (deidentify=false) needs privacy-officer or admin; a job's status and files are
 * its owner's (and an admin's), and an identified job's files need the identified role still.
 */
import { hasRole, type Principal } from '../auth/principal.js';
import { forbiddenRole } from '../outcomes.js';
import type { JobRecord } from './job-store.js';

export type { IdentifiedAccessEvent, OnIdentifiedAccess } from '../deid/identified-access.js';

const rolesOf = (p: Principal | undefined): string => (p?.roles.length ? p.roles.join(', ') : 'no role');

/** The outcome refusing a kick-off, or undefined when the principal may run it. */
export function kickOffRefusal(p: Principal | undefined, identified: boolean): ReturnType<typeof forbiddenRole> | undefined {
  if (!hasRole(p, 'analyst') && !hasRole(p, 'privacy-officer')) {
    return forbiddenRole(`exports need the analyst role (de-identified output) or privacy-officer (identified); "${p?.name ?? 'anonymous'}" has ${rolesOf(p)}`);
  }
  if (identified && !hasRole(p, 'privacy-officer')) {
    return forbiddenRole(
      `identified output (deidentify=false) needs the privacy-officer or admin role; "${p?.name ?? 'anonymous'}" has ${rolesOf(p)} (leave deidentify out for de-identified output)`
    );
  }
  return undefined;
}

/** Whether the principal may see a job's status and files (otherwise the job answers 404, as if absent). */
export function mayReadJob(p: Principal | undefined, job: JobRecord): boolean {
  if (!p) {
    return false;
  }
  const owner = p.name === job.owner || hasRole(p, 'admin');
  return owner && (!job.identified || hasRole(p, 'privacy-officer'));
}
