// The official DAX client for AWS SDK v3, @amazon-dax-sdk/client-dax 3.1.0, reading through a
// daxd cluster whose nodes throttle a share of the requests (daxd:dax:throttle-requests).
// Run by tests/e2e/test_fis_retries.py, which starts the experiment before and counts what
// the nodes saw (GetItemRequestCount, ThrottledRequestCount) around this script:
//
//   DAX_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   as for suite.cjs
//   FIS_TABLE        a table whose hash key is the string `id`, with the item `RETRY_KEY`
//   RETRY_KEY        the key read
//   RETRY_REQUESTS   how many GetItem calls to make
//   RETRY_PARALLEL   how many of them are in flight at once
//   RETRY_MAX        the client's `maxRetries`, or empty for its default
//   RETRY_OUT        where to write what the client saw: {requests, ok, failures: {code: n}, ms}
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Dax } from '@amazon-dax-sdk/client-dax';

function env(name, fallback) {
  const v = process.env[name];
  if(v === undefined && fallback === undefined) {
    throw new Error(`${name} is not set (run through tests/e2e/test_fis_retries.py)`);
  }
  return v === undefined ? fallback : v;
}

const URL = env('DAX_URL');
const REGION = env('AWS_REGION');
const ROOT = { accessKeyId: env('AWS_ACCESS_KEY_ID'), secretAccessKey: env('AWS_SECRET_ACCESS_KEY') };
const TABLE = env('FIS_TABLE');
const KEY = { id: { S: env('RETRY_KEY') } };
const REQUESTS = Number(env('RETRY_REQUESTS'));
const PARALLEL = Number(env('RETRY_PARALLEL'));
const MAX = env('RETRY_MAX', '');

test('reads under a throttle reach the client as ThrottlingException once its retries are exhausted', async() => {
  const config = { endpoints: [URL], region: REGION, credentials: ROOT, requestTimeout: 5000 };
  if(MAX !== '') {
    config.maxRetries = Number(MAX);
  }
  const dax = new Dax(config);
  try {
    const failures = {};
    let ok = 0;
    let next = 0;
    const t0 = Date.now();
    const worker = async() => {
      while(next < REQUESTS) {
        next += 1;
        try {
          const out = await dax.getItem({ TableName: TABLE, Key: KEY });
          assert.ok(out.Item, 'the item is there');
          ok += 1;
        } catch(err) {
          if(err instanceof assert.AssertionError) {
            throw err;
          }
          const code = err.code || err.name;
          failures[code] = (failures[code] || 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seen = { requests: REQUESTS, ok, failures, ms: Date.now() - t0 };
    fs.writeFileSync(env('RETRY_OUT'), JSON.stringify(seen));
    assert.equal(ok + Object.values(failures).reduce((a, b) => a + b, 0), REQUESTS, JSON.stringify(seen));
  } finally {
    dax.shutdown();
  }
});
