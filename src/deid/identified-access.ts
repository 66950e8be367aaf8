/**
 * The one record of identified access: every view run, export kick-off or result download that gives
 * data without de-identification (`deidentify=false`, privacy-officer or admin only) is reported here
 * before any data leaves. The service logs it and hands it to `StartOptions.onIdentifiedAccess` (the
 * access audit of issue #10, once it lands). Ids, types and names of views only: never content.
 */
import type { Resource } from '@medplum/fhirtypes';

/** One identified access. */
export interface IdentifiedAccessEvent {
  /** The credential's name. */
  who: string;
  /** `$viewdefinition-run`, `$export`, `$viewdefinition-export` (kick-off) or `download` (an export's file). */
  action: '$viewdefinition-run' | '$export' | '$viewdefinition-export' | 'download';
  /** The resource types read (for a view: the view's resource type). */
  types: string[];
  /** A view run's view: its name (`viewReference`) or `inline` (`viewResource`). */
  view?: string;
  /** The patients (ids) the access was restricted to, if it was. */
  patients?: string[];
  /** The groups (ids) the access was restricted to, if it was (view runs; exports resolve them to patients). */
  groups?: string[];
  /** `_since`, if given. */
  since?: string;
  /** An export's job id. */
  jobId?: string;
}

/** Awaited before data leaves: a hook that throws stops the access (no audit, no data). */
export type OnIdentifiedAccess = (event: IdentifiedAccessEvent) => void | Promise<void>;

/**
 * The service's hook: awaits each given hook (the access audit, a deployment's own), then logs the
 * identified access (ids and types only, as the logs allow). A hook that throws stops the access, and
 * nothing is logged as granted.
 */
export function identifiedAccessRecorder(
  logger: { info(message: string, meta?: Record<string, unknown>): unknown },
  ...hooks: (OnIdentifiedAccess | undefined)[]
): OnIdentifiedAccess {
  return async (event) => {
    for (const hook of hooks) {
      await hook?.(event);
    }
    logger.info('identified access', { ...event });
  };
}

/**
 * The access-audit line of an identified access (issue #10's access audit, `GET /api/v1/audit/access`):
 * the route label says what was read identified, and which resource types; the patients and groups it
 * was restricted to are its entities. The call itself is audited by the route table too; this line is
 * the one that says the output was identified.
 */
export function identifiedAccessAuditEntry(event: IdentifiedAccessEvent): { route: string; items: { reference: string }[] } {
  const what = [event.view ? `view ${event.view}` : '', event.types.join(','), event.jobId ? `job ${event.jobId}` : ''].filter(Boolean).join(' ');
  return {
    route: `identified ${event.action} ${what}`.trim(),
    items: [...(event.patients ?? []).map((id) => ({ reference: `Patient/${id}` })), ...(event.groups ?? []).map((id) => ({ reference: `Group/${id}` }))],
  };
}

/** The clients an identified output contained, gathered as it is produced (src/analytics/client-tally.ts). */
export interface ClientTally {
  /** Counts the clients of a resource that gave output. */
  add(resource: Resource): void;
  /** How many distinct clients (by MRN or Patient id) so far. */
  readonly size: number;
}

/**
 * One identified output, once produced: the accounting of disclosures records one entry per client it
 * contained (src/audit/analytics-disclosure.ts). De-identified output is no disclosure of PHI and has none.
 */
export interface IdentifiedDisclosure {
  /** The credential's name: the recipient. */
  who: string;
  action: '$viewdefinition-run' | '$export' | '$viewdefinition-export';
  /** The resource types read. */
  types: string[];
  /** The views run or exported (names, or `inline`). */
  views?: string[];
  /** An export's job id. */
  jobId?: string;
  clients: ClientTally;
}

/** The accounting of identified analytics output. */
export interface DisclosureAccounting {
  /** A new, empty tally for one run or export. */
  newTally(): ClientTally;
  /** Records one accounting entry per client of `d.clients` (none when it is empty); durable when it resolves. */
  record(d: IdentifiedDisclosure): Promise<void>;
}
