/**
 * `$viewdefinition-export`'s evaluator and writers (src/exports/view-export.ts `ViewExportDeps`) from the
 * analytics side: the same compiled views, evaluator and encoders as `$viewdefinition-run`, so a view
 * gives the same rows whether it is run or exported, in each of the four formats.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Resource, ViewDefinition } from '@medplum/fhirtypes';
import type { RowFormat, RowSink, ViewExportDeps } from '../exports/view-export.js';
import { createEncoder, OUTPUT_FORMATS, type OutputFormat } from './output/index.js';
import { compileView } from './sof/compile.js';
import { evaluateView } from './sof/evaluate.js';
import { viewReads } from './sof/reads.js';
import { validateView } from './sof/validate.js';
import type { ViewRegistry } from './views.js';

/** File extensions by format (the `_format` code is the extension). */
const EXTENSIONS: Record<OutputFormat, string> = { json: 'json', ndjson: 'ndjson', csv: 'csv', parquet: 'parquet' };

async function write(stream: WriteStream, chunk: Uint8Array | undefined): Promise<void> {
  if (chunk && chunk.length > 0 && !stream.write(chunk)) {
    await once(stream, 'drain'); // rejects on a write error (disk full...)
  }
}

function fileFormat(format: OutputFormat): RowFormat {
  // The media type does not depend on the view: ask an encoder with no columns once.
  const contentType = createEncoder(format, { columns: [] }).contentType;
  return {
    extension: EXTENSIONS[format],
    contentType,
    open(path: string, view: ViewDefinition): RowSink {
      const encoder = createEncoder(format, { columns: compileView(view).columns });
      // 0600 and never an existing file: result files are as protected as the request (docs/exports.md).
      const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      return {
        write: (row) => write(stream, encoder.row(row)),
        async close() {
          await write(stream, encoder.end());
          stream.end();
          await once(stream, 'finish');
        },
      };
    },
  };
}

/**
 * The analytics evaluator and writers for `$viewdefinition-export`.
 * @param views - The views of views/ (`viewReference: ViewDefinition/<name>`).
 */
export function viewExportDeps(views: ViewRegistry): ViewExportDeps {
  return {
    async *runView(view: ViewDefinition, resources: AsyncIterable<Resource>) {
      const compiled = compileView(view);
      for await (const r of resources) {
        yield* evaluateView(compiled, r);
      }
    },
    formats: Object.fromEntries(OUTPUT_FORMATS.map((f) => [f, fileFormat(f)])),
    resolveView: (reference) => views.resolve(reference)?.view.definition as unknown as ViewDefinition | undefined,
    validateView: (view) => validateView(view).problems,
    elementsRead: (view) => viewReads(compileView(view)),
  };
}
