import { describe, expectTypeOf, it } from 'vitest';
import type { Delta, JobView, NodeView, Snapshot } from './cluster-views.js';
import type * as Client from './client/model.js';

// The page (src/dashboard/client/) is type-checked without Node's types, so it keeps its own copy of
// the views it reads; this file (checked by tsc -p tsconfig.json) fails to compile when they drift.
describe('the browser code reads what the server sends', () => {
  it('the stream views fit the client model', () => {
    expectTypeOf<NodeView>().toExtend<Client.NodeView>();
    expectTypeOf<JobView>().toExtend<Client.JobView>();
    expectTypeOf<Snapshot>().toExtend<Client.Snapshot>();
    expectTypeOf<Delta>().toExtend<Client.Delta>();
  });
});
