// Node.js streaming test function for Hearth's end-to-end suite (response streaming).
// `handler` is wrapped by awslambda.streamifyResponse; event.mode picks what it writes:
//   chunks  writes each of event.chunks, then ends
//   paced   writes "first", waits event.waitMs, then writes the epoch ms at which it
//           writes the second chunk ("second <ms>"), then ends
//   error   writes "partial", then throws (an error after the stream began)
//   http    HttpResponseStream.from with a status, headers and a cookie, then a body
//   hang    writes "before", then never ends (the function's timeout ends it)
//   log     prints a line, writes "logged"
//   crash   writes "doomed", then the process exits (status 3) mid-stream
// `buffered` is an ordinary (non-streaming) handler returning JSON.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream, _context) => {
  switch (event.mode) {
    case "chunks":
      responseStream.setContentType("text/plain");
      for (const c of event.chunks) {
        responseStream.write(c);
      }
      responseStream.end();
      return;
    case "paced":
      responseStream.setContentType("text/plain");
      responseStream.write("first");
      await sleep(event.waitMs);
      responseStream.write(`second ${Date.now()}`);
      responseStream.end();
      return;
    case "error":
      responseStream.write("partial");
      await sleep(50);
      throw new Error("it broke mid-stream");
    case "http": {
      const http = awslambda.HttpResponseStream.from(responseStream, {
        statusCode: 201,
        headers: { "x-stream": "yes", "content-type": "text/plain" },
        cookies: ["flavour=oat"],
      });
      http.write("hello ");
      http.write("from a prelude");
      http.end();
      return;
    }
    case "hang":
      responseStream.write("before");
      await sleep(3600 * 1000);
      return;
    case "log":
      console.log("streamed-log-line");
      responseStream.write("logged");
      responseStream.end();
      return;
    case "crash":
      responseStream.write("doomed");
      await sleep(50);
      process.exit(3);
      return;
    default:
      responseStream.write(JSON.stringify({ unknown: event.mode ?? null }));
      responseStream.end();
  }
});

export const buffered = async (event) => ({ buffered: true, event });
