// Node.js test function for Hearth's end-to-end suite.
// Echoes the event and the context; {"action": "throw", "message": M} throws instead.

let count = 0;

export const handler = async (event, context) => {
  count += 1;
  if (event && event.action === "throw") {
    const err = new Error(event.message || "boom");
    err.name = "HearthNodeError";
    throw err;
  }
  return {
    node: true,
    event,
    context: {
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      memoryLimitInMB: context.memoryLimitInMB,
      invokedFunctionArn: context.invokedFunctionArn,
      remainingMs: context.getRemainingTimeInMillis(),
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      clientContext: context.clientContext ?? null,
    },
    env: {
      AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
      AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV,
      _HANDLER: process.env._HANDLER,
    },
    pid: process.pid,
    count,
  };
};
