/**
 * The console's pages: where each lives (`#/<id>`), its title, who sees it (roles; admin sees all),
 * and its component. Adding a page is a file in this folder and one entry here (console/README.md).
 */
import type { FunctionComponent } from 'preact';
import type { Route } from '../router';
import type { Me } from '../session';
import { ApiReferencePage } from './api-reference';
import { DeadLettersPage } from './dead-letters';
import { ImportsPage } from './imports';
import { OverviewPage } from './overview';
import { PlaygroundPage } from './playground';
import { PrivacyPage } from './privacy';
import { RecordPage } from './record';
import { RecordsPage } from './records';

export interface PageDef {
  id: string;
  title: string;
  /** Roles that see the page ('all': any signed-in credential). */
  roles: readonly string[] | 'all';
  /** `me`: who is signed in (a page may offer an action only to the roles the route table allows). */
  component: FunctionComponent<{ route: Route; me: Me }>;
}

export const PAGES: PageDef[] = [
  { id: 'overview', title: 'Overview', roles: ['operator'], component: OverviewPage },
  { id: 'records', title: 'Records', roles: ['operator', 'source', 'privacy-officer'], component: RecordsPage },
  { id: 'dead-letters', title: 'Dead letters & review', roles: ['operator'], component: DeadLettersPage },
  { id: 'privacy', title: 'Privacy', roles: ['privacy-officer'], component: PrivacyPage },
  { id: 'playground', title: 'Mapping playground', roles: ['source'], component: PlaygroundPage },
  { id: 'imports', title: 'Imports', roles: ['source', 'operator'], component: ImportsPage },
  { id: 'api', title: 'API reference', roles: 'all', component: ApiReferencePage },
];

/** `#/records/<kind>/<id>` is a record's page (under Records in the navigation). */
export const RECORD_PAGE: PageDef = { id: 'records', title: 'Record', roles: ['operator', 'source', 'privacy-officer'], component: RecordPage };
