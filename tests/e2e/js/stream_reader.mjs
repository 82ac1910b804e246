// Reads InvokeWithResponseStream with the JS SDK v3 (@aws-sdk/client-lambda), as an
// application would; for Hearth's end-to-end tests (test_streaming.py).
//   node stream_reader.mjs ENDPOINT FUNCTION PAYLOAD_JSON
// Credentials and region come from the environment (AWS_ACCESS_KEY_ID, ...). Prints one
// JSON line per event: {"chunk": base64, "at": epoch ms} or {"complete": {...}}, and first
// {"contentType", "executedVersion", "status"}.
import { LambdaClient, InvokeWithResponseStreamCommand } from "@aws-sdk/client-lambda";

const [endpoint, functionName, payload] = process.argv.slice(2);
const client = new LambdaClient({ endpoint, maxAttempts: 1 });
const resp = await client.send(new InvokeWithResponseStreamCommand({
  FunctionName: functionName,
  Payload: new TextEncoder().encode(payload),
  LogType: "Tail",
}));
console.log(JSON.stringify({
  contentType: resp.ResponseStreamContentType,
  executedVersion: resp.ExecutedVersion,
  status: resp.StatusCode,
}));
for await (const event of resp.EventStream) {
  if (event.PayloadChunk) {
    const bytes = event.PayloadChunk.Payload ?? new Uint8Array();
    console.log(JSON.stringify({ chunk: Buffer.from(bytes).toString("base64"), at: Date.now() }));
  } else if (event.InvokeComplete) {
    console.log(JSON.stringify({ complete: event.InvokeComplete }));
  }
}
