// DynamoDB Streams through the AWS SDK for JavaScript v3's own client,
// @aws-sdk/client-dynamodb-streams, against daxd's endpoint (run by
// tests/e2e/test_dynamodb_streams.py, which makes the table STREAM_TABLE
// with a NEW_AND_OLD_IMAGES stream STREAM_ARN).
import assert from "node:assert/strict";
import { test } from "node:test";

import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from "@aws-sdk/client-dynamodb-streams";

const config = { endpoint: process.env.DAXD_ENDPOINT, region: process.env.AWS_REGION, maxAttempts: 1 };
const ddb = new DynamoDBClient(config);
const streams = new DynamoDBStreamsClient(config);
const table = process.env.STREAM_TABLE;
const arn = process.env.STREAM_ARN;

test("list, describe, iterate and read a stream", async () => {
  await ddb.send(new PutItemCommand({ TableName: table, Item: { id: { S: "j" }, n: { N: "1" } } }));
  await ddb.send(new UpdateItemCommand({
    TableName: table, Key: { id: { S: "j" } }, UpdateExpression: "SET n = :n",
    ExpressionAttributeValues: { ":n": { N: "2" } },
  }));

  const listed = await streams.send(new ListStreamsCommand({ TableName: table }));
  assert.deepEqual(listed.Streams.map((s) => s.StreamArn), [arn]);

  const { StreamDescription: d } = await streams.send(new DescribeStreamCommand({ StreamArn: arn }));
  assert.equal(d.StreamViewType, "NEW_AND_OLD_IMAGES");
  assert.equal(d.StreamStatus, "ENABLED");
  assert.ok(d.CreationRequestDateTime instanceof Date);
  const shardId = d.Shards[0].ShardId;

  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
  );
  const first = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }));
  assert.equal(first.Records.length, 1);
  assert.equal(first.Records[0].eventName, "INSERT");
  assert.ok(first.Records[0].dynamodb.ApproximateCreationDateTime instanceof Date);
  const second = await streams.send(new GetRecordsCommand({ ShardIterator: first.NextShardIterator }));
  assert.equal(second.Records.length, 1);
  assert.equal(second.Records[0].eventName, "MODIFY");
  assert.deepEqual(second.Records[0].dynamodb.OldImage, { id: { S: "j" }, n: { N: "1" } });
  assert.deepEqual(second.Records[0].dynamodb.NewImage, { id: { S: "j" }, n: { N: "2" } });

  const seq = second.Records[0].dynamodb.SequenceNumber;
  const at = await streams.send(new GetShardIteratorCommand({
    StreamArn: arn, ShardId: shardId, ShardIteratorType: "AT_SEQUENCE_NUMBER", SequenceNumber: seq,
  }));
  const again = await streams.send(new GetRecordsCommand({ ShardIterator: at.ShardIterator }));
  assert.deepEqual(again.Records.map((r) => r.dynamodb.SequenceNumber), [seq]);
});

test("a malformed iterator is a ValidationException, not an expired one", async () => {
  await assert.rejects(
    streams.send(new GetRecordsCommand({ ShardIterator: "garbage" })),
    (e) => e.name === "ValidationException" && !(e instanceof ExpiredIteratorException) && e.$metadata.httpStatusCode === 400,
  );
});
