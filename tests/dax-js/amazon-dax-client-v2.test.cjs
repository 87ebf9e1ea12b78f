'use strict';
// The official DAX client for AWS SDK v2, amazon-dax-client 1.2.10, against a daxd cluster:
// the shared suite (suite.cjs) plus AWS.DynamoDB.DocumentClient over DAX.
// Run by tests/e2e/test_dax_js.py, which sets the environment described in suite.cjs.
const { after, test } = require('node:test');
const assert = require('node:assert/strict');
const AWS = require('aws-sdk');
const AmazonDaxClient = require('amazon-dax-client');
const { defineSuite, URL, REGION, ROOT } = require('./suite.cjs');

// daxd's DynamoDB API, to check what DAX wrote.
const dynamodb = new AWS.DynamoDB({ endpoint: process.env.DAXD_ENDPOINT, region: REGION, credentials: ROOT, maxRetries: 0 });

defineSuite({
  name: 'amazon-dax-client 1.2.10',
  // The URL exactly as DescribeClusters returns it.
  dax: (credentials, config) => new AmazonDaxClient({ endpoints: [URL], region: REGION, credentials, ...config }),
  call: (client, op, params) => client[op](params).promise(),
  close: (client) => client.shutdown(),
  ddb: (op, params) => dynamodb[op](params).promise(),
  code: (err) => err.code,
  status: (err) => err.statusCode,
  reasons: (err) => err.cancellationReasons,
  extra: ({ getDax, T }) => {
    test('AWS.DynamoDB.DocumentClient over DAX', async() => {
      const doc = new AWS.DynamoDB.DocumentClient({ service: getDax() });
      const item = { id: 'doc', n: 1.5, big: 12345678901234, s: 'x', b: Buffer.from([1, 2]), ok: true, nothing: null,
        l: [1, 'two', { three: 3 }], m: { a: { b: 'c' } }, ss: doc.createSet(['a', 'b']), ns: doc.createSet([1, 2]) };
      await doc.put({ TableName: T.simple, Item: item }).promise();
      const got = (await doc.get({ TableName: T.simple, Key: { id: 'doc' } }).promise()).Item;
      assert.equal(got.n, 1.5);
      assert.equal(got.big, 12345678901234);
      assert.deepEqual(got.l, [1, 'two', { three: 3 }]);
      assert.deepEqual(got.m, { a: { b: 'c' } });
      assert.deepEqual(got.ss.values.sort(), ['a', 'b']);
      assert.deepEqual(got.ns.values.sort(), [1, 2]);
      assert.equal(got.nothing, null);
      assert.equal(got.ok, true);
      assert.deepEqual([...got.b], [1, 2]);
      const upd = await doc.update({ TableName: T.simple, Key: { id: 'doc' }, UpdateExpression: 'SET n = n + :d',
        ExpressionAttributeValues: { ':d': 1 }, ReturnValues: 'UPDATED_NEW' }).promise();
      assert.deepEqual(upd.Attributes, { n: 2.5 });
      const q = await doc.query({ TableName: T.simple, KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': 'doc' } }).promise();
      assert.equal(q.Items[0].n, 2.5);
      await assert.rejects(doc.put({ TableName: T.simple, Item: { id: 'doc' }, ConditionExpression: 'attribute_not_exists(id)' })
        .promise(), (err) => err.code === 'ConditionalCheckFailedException');
      await doc.delete({ TableName: T.simple, Key: { id: 'doc' } }).promise();
      assert.equal((await doc.get({ TableName: T.simple, Key: { id: 'doc' } }).promise()).Item, undefined);
    });

    test('callback style', async() => {
      const out = await new Promise((resolve, reject) => getDax().getItem({ TableName: T.simple, Key: { id: { S: 'absent-cb' } } },
        (err, data) => (err ? reject(err) : resolve(data))));
      assert.equal(out.Item, undefined);
    });
  },
});
