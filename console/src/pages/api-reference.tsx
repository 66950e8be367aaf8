/**
 * The API reference, read from the service's own OpenAPI 3.1 description (GET /api/v1/openapi.json):
 * every operation by area, with its roles, parameters, bodies (schemas and examples) and answers.
 */
import { useState } from 'preact/hooks';
import { get, v1 } from '../api';
import { Badge, Card, ErrorBox, JsonView, Loading } from '../components/ui';
import { useLoad } from '../hooks';

interface Op {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  'x-roles': string[] | string;
  'x-masks-phi'?: boolean;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: unknown }[];
  requestBody?: { content?: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }> }>;
}

interface Doc {
  info: { title: string; version: string; description?: string };
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { description: string }> };
}

export function ApiReferencePage() {
  const doc = useLoad(() => get<Doc>(v1('/openapi.json')), []);
  const [filter, setFilter] = useState('');
  if (!doc.data) return doc.error ? <ErrorBox error={doc.error} /> : <Loading what="the API description" />;
  const d = doc.data;
  const ops = Object.entries(d.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  const f = filter.toLowerCase();
  const shown = ops.filter((o) => !f || `${o.method} ${o.path} ${o.op.summary}`.toLowerCase().includes(f));
  return (
    <div class="page api">
      <Card
        title={
          <>
            {d.info.title} API <span class="muted">v{d.info.version} · OpenAPI 3.1</span>
          </>
        }
        actions={
          <a class="button" href="/api/v1/openapi.json" download="openapi.json" onClick={(e) => downloadDoc(e, d)}>
            Download openapi.json
          </a>
        }
      >
        <p>
          <Inline text={d.info.description ?? ''} />
        </p>
        <input class="search" placeholder="Filter operations (method, path, words)" value={filter} onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)} />
      </Card>
      {d.tags.map((t) => {
        const inTag = shown.filter((o) => o.op.tags.includes(t.name));
        if (inTag.length === 0) return null;
        return (
          <Card key={t.name} title={t.name} class="api-tag">
            {t.description && <p class="muted">{t.description}</p>}
            {inTag.map((o) => (
              <Operation key={`${o.method} ${o.path}`} method={o.method} path={o.path} op={o.op} doc={d} />
            ))}
          </Card>
        );
      })}
    </div>
  );
}

function Operation(p: { method: string; path: string; op: Op; doc: Doc }) {
  const { op } = p;
  const roles = Array.isArray(op['x-roles']) ? op['x-roles'].join(', ') : op['x-roles'];
  return (
    <details class="op" data-testid={`op-${op.operationId}`}>
      <summary>
        <span class={`method m-${p.method}`}>{p.method.toUpperCase()}</span> <code class="op-path">{p.path}</code> <span class="op-summary">{op.summary}</span>
        <span class="op-roles">
          <Badge tone={roles.includes('public') ? 'neutral' : 'info'}>{roles}</Badge>
          {op['x-masks-phi'] && <Badge tone="warn">masked for operator</Badge>}
        </span>
      </summary>
      <div class="op-body">
        {op.description && (
          <div class="op-desc">
            {op.description.split('\n\n').map((para, i) => (
              <p key={i}>
                <Inline text={para} />
              </p>
            ))}
          </div>
        )}
        {op.parameters && op.parameters.length > 0 && (
          <table class="params">
            <thead>
              <tr>
                <th>Parameter</th>
                <th>In</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {op.parameters.map((prm) => (
                <tr key={`${prm.in}:${prm.name}`}>
                  <td>
                    <code>{prm.name}</code>
                    {prm.required && <span class="required">*</span>}
                  </td>
                  <td>{prm.in}</td>
                  <td>{prm.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {op.requestBody?.content &&
          Object.entries(op.requestBody.content).map(([type, media]) => (
            <div key={type} class="media">
              <h4>
                Request body <code>{type}</code>
              </h4>
              <JsonView value={resolve(media.schema, p.doc)} label="Schema" />
              {Object.entries(media.examples ?? {}).map(([name, ex]) => (
                <JsonView key={name} value={ex.value} label={`Example: ${name}`} />
              ))}
            </div>
          ))}
        <h4>Responses</h4>
        <ul class="responses">
          {Object.entries(op.responses).map(([code, r]) => {
            const desc = r.$ref ? p.doc.components.responses[r.$ref.split('/').pop() as string]?.description : r.description;
            return (
              <li key={code}>
                <code class={`status s${code[0]}`}>{code}</code> {desc}
                {r.content &&
                  Object.entries(r.content).map(([type, media]) => (
                    <div key={type} class="media">
                      <JsonView value={resolve(media.schema, p.doc)} label={`Schema (${type})`} />
                      {Object.entries(media.examples ?? {}).map(([name, ex]) => (
                        <JsonView key={name} value={ex.value} label={`Example: ${name}`} />
                      ))}
                    </div>
                  ))}
              </li>
            );
          })}
        </ul>
      </div>
    </details>
  );
}

/** The description's Markdown, inline only: `code` and **bold**. */
function Inline(p: { text: string }) {
  return (
    <>
      {p.text.split(/(`[^`]+`|\*\*[^*]+\*\*)/).map((part, i) =>
        part.startsWith('`') ? <code key={i}>{part.slice(1, -1)}</code> : part.startsWith('**') ? <strong key={i}>{part.slice(2, -2)}</strong> : part
      )}
    </>
  );
}

/** A schema with its top-level $ref followed once, so the reader sees the fields. */
function resolve(schema: unknown, doc: Doc): unknown {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  if (ref?.startsWith('#/components/schemas/')) {
    return { title: ref.split('/').pop(), ...(doc.components.schemas[ref.split('/').pop() as string] as object) };
  }
  return schema;
}

/** The document is fetched with the token; a plain link would be refused (401), so save what we have. */
function downloadDoc(e: Event, doc: Doc): void {
  e.preventDefault();
  const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'openapi.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
