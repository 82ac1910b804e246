// The function's handler (Handler: index.handler): serverless-http turns each API Gateway
// (payload 1.0 or 2.0) or function URL event into a request to the Express app, and its
// response back into the event's answer. Binary types must be named: their bodies go back
// base64-encoded, everything else as text.
const serverless = require("serverless-http");
const app = require("./app");

exports.handler = serverless(app, { binary: ["image/*"] });
