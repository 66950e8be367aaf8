/**
 * Answers searches for the SQLite repository. Three ways, chosen per search:
 * 1. **Indexed, exact**: every filter translates exactly (search-plan.ts). SQL counts the matches,
 *    orders them and reads one page; only that page is parsed. medplum's matcher still checks each
 *    resource of the page: should it ever disagree with the index, the disagreement is logged (type
 *    and parameter codes) and the search is answered the second way.
 * 2. **Indexed, candidates**: some filter is only narrowed (a superset). The candidates are parsed,
 *    medplum's matcher decides, and the order is computed in JavaScript (search-sort.ts).
 * 3. **Scan**: a type not re-indexed yet (search-reindex.ts), the index switched off, or a search
 *    across types: every resource of the type is a candidate.
 * Path 1 runs synchronously inside the repository's read lock (trySearch); paths 2 and 3 list the
 * candidates and hand them to a CandidateScan (search-scan.ts), which the repository runs in chunks.
 */
import type { SearchRequest, WithId } from '@medplum/core';
import { OperationOutcomeError, badRequest, isResourceType, matchesSearchRequest } from '@medplum/core';
import type { Statement } from 'better-sqlite3';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { FhirDatabase } from './database.js';
import { assertKnownSearchParameters, pageSize, searchset } from './search.js';
import type { ParamIds } from './search-index.js';
import { normalizeSearchRequest } from './search-normalize.js';
import type { PlanContext, SearchPlan } from './search-plan.js';
import { countFromDriver, driverSql, fromWhere, optionRank, planSearch, windowedInOrder } from './search-plan.js';
import type { SearchIndexLogger, SearchIndexState } from './search-reindex.js';
import type { TypeCandidates } from './search-scan.js';
import { CandidateScan } from './search-scan.js';
import type { DriverOption, SqlPart } from './search-sql-parts.js';
import { Rank } from './search-sql-parts.js';

/** How the executor chooses between ways of answering; the defaults suit real data, tests shrink them. */
export interface SearchTuning {
  /** Drivers are compared by counting at most this many of their rows; reaching it makes one "broad". */
  probeLimit: number;
  /** pageInOrder reads at least this many resources... */
  windowMin: number;
  /** ...and this many per resource of the page (and before it). */
  windowFactor: number;
}

export const DEFAULT_TUNING: SearchTuning = { probeLimit: 1000, windowMin: 2000, windowFactor: 20 };

/** The answer to a search: the total and one page. */
interface SearchAnswer<T extends Resource> {
  total: number;
  page: WithId<T>[];
}

/** Executes searches against one connection. */
export class SearchExecutor {
  private readonly db: FhirDatabase;
  private readonly params: ParamIds;
  private readonly state: SearchIndexState;
  private readonly logger?: SearchIndexLogger;
  private readonly useIndex: boolean;
  private readonly classes: Statement<[number], { span: number }>;
  private readonly content: Statement<[string, string], { content: string }>;
  private readonly liveIds: Statement<[string], { id: string }>;
  private readonly statements = new Map<string, Statement>();
  private readonly ctx: PlanContext;

  private readonly tuning: SearchTuning;

  constructor(
    db: FhirDatabase,
    params: ParamIds,
    state: SearchIndexState,
    useIndex: boolean,
    logger?: SearchIndexLogger,
    tuning: SearchTuning = DEFAULT_TUNING
  ) {
    this.tuning = tuning;
    this.db = db;
    this.params = params;
    this.state = state;
    this.useIndex = useIndex;
    this.logger = logger;
    this.classes = db.prepare('SELECT span FROM search_date_class WHERE pid = ?');
    this.content = db.prepare('SELECT content FROM resources WHERE resource_type = ? AND id = ? AND deleted = 0');
    this.liveIds = db.prepare('SELECT id FROM resources WHERE resource_type = ? AND deleted = 0');
    this.ctx = {
      param: (type, code) => this.params.lookup(type, code),
      dateClasses: (pid) => this.classes.all(pid).map((r) => r.span),
    };
  }

  /**
   * Answers a single-type search from the index when it can do so exactly (path 1).
   * @param request - A search request; `types` for a search across types.
   * @returns The searchset, or undefined when the candidates must be scanned (startScan).
   */
  trySearch<T extends Resource>(request: SearchRequest<T>): Bundle<WithId<T>> | undefined {
    const typed = this.validate(request);
    if (typed.length !== 1 || !this.indexUsable(typed[0].resourceType)) {
      return undefined;
    }
    const plan = planSearch(typed[0], this.ctx);
    if (plan.empty) {
      return searchset(0, []);
    }
    const answer = plan.exact ? this.exact(plan, typed[0]) : undefined;
    return answer ? searchset(answer.total, answer.page) : undefined;
  }

  /**
   * Lists the candidates of a search the index cannot answer exactly (paths 2 and 3); the scan then
   * parses and matches them a chunk at a time.
   * @param request - A search request; `types` for a search across types.
   * @returns The scan.
   */
  startScan<T extends Resource>(request: SearchRequest<T>): CandidateScan<T> {
    const candidates = this.validate(request).map((one): TypeCandidates => {
      const plan = this.indexUsable(one.resourceType) ? planSearch(one, this.ctx) : undefined;
      if (plan?.empty) {
        return { request: one, ids: [] };
      }
      if (!plan) {
        return { request: one, ids: this.liveIds.all(one.resourceType).map((r) => r.id) };
      }
      const fw = fromWhere(plan, this.chooseDriver(plan).option);
      return { request: one, ids: (this.prepare(`SELECT r.id AS id ${fw.sql}`).all(...fw.params) as { id: string }[]).map((r) => r.id) };
    });
    return new CandidateScan(this.content, request, candidates);
  }

  /**
   * The SQL an indexed search of `request` would run (for the query-plan test and diagnostics).
   * @returns The statements with their parameters, or undefined when the search would not use the index.
   */
  explain(request: SearchRequest): { sql: string; params: unknown[] }[] | undefined {
    const normal = normalizeSearchRequest(request);
    const plan = planSearch(normal, this.ctx);
    if (!this.indexUsable(request.resourceType) || plan.empty) {
      return undefined;
    }
    const { option } = this.chooseDriver(plan);
    const page = (fw: SqlPart): SqlPart => ({
      sql: `SELECT r.id AS id ${fw.sql} ORDER BY ${plan.order.sql} LIMIT ? OFFSET ?`,
      params: [...fw.params, ...plan.order.params, 20, 0],
    });
    const out: SqlPart[] = plan.drivers.map((o) => ({ sql: `SELECT COUNT(*) AS n FROM (${driverSql(o).sql} LIMIT ${this.tuning.probeLimit})`, params: driverSql(o).params }));
    out.push(this.countSql(plan, option));
    if (!plan.exact) {
      const fw = fromWhere(plan, option);
      out.push({ sql: `SELECT r.id AS id ${fw.sql}`, params: fw.params });
      return out;
    }
    if (option) {
      out.push(page(fromWhere(plan, option)));
    }
    if (!option) {
      out.push(page(fromWhere(plan, undefined)));
    } else if (plan.indexOrdered) {
      const fw = windowedInOrder(plan);
      out.push({ ...page(fw), params: [plan.resourceType, this.tuning.windowMin, ...page(fw).params] });
    }
    return out;
  }

  /** Checks every searched type and parameter; returns one normalised request per type. */
  private validate<T extends Resource>(request: SearchRequest<T>): SearchRequest<T>[] {
    const types = request.types?.length ? request.types : [request.resourceType];
    return types.map((resourceType) => {
      if (!isResourceType(resourceType)) {
        throw new OperationOutcomeError(badRequest(`Unknown resource type: ${resourceType}`));
      }
      const one = { ...request, resourceType, types: undefined } as SearchRequest<T>;
      assertKnownSearchParameters(resourceType, one.filters);
      return normalizeSearchRequest(one);
    });
  }

  private indexUsable(resourceType: string): boolean {
    return this.useIndex && this.state.isReady(resourceType);
  }

  /** Path 1: SQL counts, orders and pages; undefined if the matcher disagrees with the index. */
  private exact<T extends Resource>(plan: SearchPlan, request: SearchRequest<T>): SearchAnswer<T> | undefined {
    const { option, broad } = this.chooseDriver(plan);
    const counted = this.countSql(plan, option);
    const total = (this.prepare(counted.sql).get(...counted.params) as { n: number }).n;
    const count = pageSize(request);
    if (count === 0 || total === 0) {
      return { total, page: [] };
    }
    const offset = Math.max(request.offset ?? 0, 0);
    const ids = (broad && plan.indexOrdered && this.pageInOrder(plan, count, offset, total)) || this.pageFromDriver(plan, option, count, offset);
    const page: WithId<T>[] = [];
    for (const { id } of ids) {
      const row = this.content.get(request.resourceType, id);
      const resource = row ? (JSON.parse(row.content) as WithId<T>) : undefined;
      if (!resource || !matchesSearchRequest(resource, request)) {
        this.logger?.warn('FHIR search index disagrees with the matcher; answering from candidates', {
          resourceType: request.resourceType,
          codes: (request.filters ?? []).map((f) => f.code),
        });
        return undefined;
      }
      page.push(resource);
    }
    return { total, page };
  }

  /** A page from the chosen driver: every row it yields is checked and sorted. */
  private pageFromDriver(plan: SearchPlan, option: DriverOption | undefined, count: number, offset: number): { id: string }[] {
    const fw = fromWhere(plan, option);
    return this.prepare(`SELECT r.id AS id ${fw.sql} ORDER BY ${plan.order.sql} LIMIT ? OFFSET ?`)
      .all(...fw.params, ...plan.order.params, count, offset) as { id: string }[];
  }

  /**
   * A page read in the index's order when the driver yields many rows (which the driver path would
   * read whole and sort for one page): the first `window` resources of the type in order are checked,
   * and the page is used if they hold it. undefined: they did not (sparse matches); use the driver.
   */
  private pageInOrder(plan: SearchPlan, count: number, offset: number, total: number): { id: string }[] | undefined {
    const fw = windowedInOrder(plan);
    const window = Math.max(this.tuning.windowMin, (offset + count) * this.tuning.windowFactor);
    const ids = this.prepare(`SELECT r.id AS id ${fw.sql} ORDER BY ${plan.order.sql} LIMIT ? OFFSET ?`)
      .all(plan.resourceType, window, ...fw.params, ...plan.order.params, count, offset) as { id: string }[];
    return ids.length === Math.min(count, Math.max(total - offset, 0)) ? ids : undefined;
  }

  /** The COUNT of a plan's matches, from the chosen driver or over the type. */
  private countSql(plan: SearchPlan, option: DriverOption | undefined): SqlPart {
    if (option) {
      return countFromDriver(plan, option);
    }
    const fw = fromWhere(plan, undefined);
    return { sql: `SELECT COUNT(*) AS n ${fw.sql}`, params: fw.params };
  }

  /**
   * The driver to start from: the option with the fewest rows (counted up to probeLimit), a parameter
   * scan only when nothing better exists; none when no filter can drive. `broad`: even the best one
   * reaches probeLimit rows.
   */
  private chooseDriver(plan: SearchPlan): { option?: DriverOption; broad: boolean } {
    const options = [...plan.drivers].sort((a, b) => optionRank(a) - optionRank(b));
    const probed = options.filter((o) => optionRank(o) < Rank.PARAM_SCAN);
    if (probed.length === 0) {
      return { option: options[0], broad: true };
    }
    let best = probed[0];
    let bestCount = Infinity;
    for (const option of probed) {
      const d = driverSql(option);
      const n = (this.prepare(`SELECT COUNT(*) AS n FROM (${d.sql} LIMIT ${this.tuning.probeLimit})`).get(...d.params) as { n: number }).n;
      if (n < bestCount) {
        [best, bestCount] = [option, n];
      }
    }
    return { option: best, broad: bestCount >= this.tuning.probeLimit };
  }

  /** Prepared statements by SQL text (a search's shape), kept for reuse. */
  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= 500) {
        this.statements.clear();
      }
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
