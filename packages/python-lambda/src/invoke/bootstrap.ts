/**
 * The Python program `lbuild invoke` runs the handler with (`python -I -B -c BOOTSTRAP ...`),
 * written for lbuild: it is not AWS's runtime, only what a handler can see of one. It reads the
 * event on stdin, imports `_HANDLER` from the package (the working directory, first on
 * sys.path), calls it with a context object, and reports on fd 3, so that the handler's own
 * output on fds 1 and 2 reaches the user untouched:
 *
 *   start\n                          the handler is about to be called (the timeout runs from here)
 *   result\n<JSON>                   what it returned
 *   error\n<JSON>                    Lambda's error object: errorMessage, errorType, requestId, stackTrace
 *
 * Arguments: the timeout in ms, the function ARN, the request id, and the JSON indent (0: one
 * line). It runs on every Python a Lambda runtime has had since 3.8.
 */
export const BOOTSTRAP = String.raw`
import importlib, json, os, sys, time, traceback

timeout_ms, arn, request_id, indent = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
channel = os.fdopen(3, "wb", buffering=0)
# A process the handler starts must not hold the channel open after the handler is done.
os.set_inheritable(3, False)
event_text = sys.stdin.buffer.read()
# Lambda gives a handler no stdin.
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
# Line by line, so that prints and log lines keep their order on the way to the user.
sys.stdout.reconfigure(line_buffering=True)
task_root = os.environ["LAMBDA_TASK_ROOT"]
sys.path.insert(0, task_root)


def flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def report(kind, text):
    flush()
    channel.write(kind + b"\n" + text.encode("utf-8", "surrogateescape"))


def done():
    # Lambda freezes the environment once the handler has answered: threads the handler left
    # running do not hold the invoke up.
    flush()
    os._exit(0)


def fail(error_type, message, error=None, in_stack=True):
    """Reports an error as Lambda does; in_stack=False: its frames are in the log only."""
    # The first frame is this program's: Lambda's trace starts below it.
    tb = error.__traceback__.tb_next if error is not None else None
    stack = traceback.format_list(traceback.extract_tb(tb)) if in_stack and tb else []
    sys.stderr.write("[ERROR] %s: %s\n" % (error_type, message))
    if error is not None and in_stack:
        traceback.print_exception(type(error), error, tb)
    elif error is not None:
        # An import's frames in the package, without those of the import machinery.
        inside = os.path.join(task_root, "")
        frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(inside)]
        if frames:
            sys.stderr.write("Traceback (most recent call last):\n")
            sys.stderr.write("".join(traceback.format_list(frames)))
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
    report(
        b"error",
        json.dumps(
            {
                "errorMessage": message,
                "errorType": error_type,
                "requestId": request_id,
                "stackTrace": stack,
            }
        ),
    )
    done()


class LambdaContext(object):
    def __init__(self, deadline):
        env = os.environ
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn = arn
        # A string, as Lambda's own runtime gives it.
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.aws_request_id = request_id
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(int((self._deadline - time.monotonic()) * 1000), 0)

    def __repr__(self):
        return "LambdaContext(function_name=%r, aws_request_id=%r)" % (
            self.function_name,
            self.aws_request_id,
        )


handler_name = os.environ["_HANDLER"]
module_name, _, function_name = handler_name.rpartition(".")
module_name = module_name.replace("/", ".")
if not module_name:
    fail(
        "Runtime.MalformedHandlerName",
        "Bad handler '%s': not enough values to unpack (expected 2, got 1)" % handler_name,
    )
try:
    module = importlib.import_module(module_name)
except ImportError as error:
    fail(
        "Runtime.ImportModuleError",
        "Unable to import module '%s': %s" % (module_name, error),
        error,
        in_stack=False,
    )
except SyntaxError as error:
    fail(
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module '%s': %s" % (module_name, error),
        error,
        in_stack=False,
    )
except Exception as error:
    fail(type(error).__name__, str(error), error)
handler = getattr(module, function_name, None)
if handler is None:
    fail(
        "Runtime.HandlerNotFound",
        "Handler '%s' missing on module '%s'" % (function_name, module_name),
    )
try:
    event = json.loads(event_text.decode("utf-8"))
except ValueError as error:
    fail("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % error)

report(b"start", "")
context = LambdaContext(time.monotonic() + int(timeout_ms) / 1000.0)
try:
    result = handler(event, context)
except Exception as error:
    fail(type(error).__name__, str(error), error)
try:
    text = json.dumps(result, ensure_ascii=False, indent=indent or None)
except (TypeError, ValueError, OverflowError) as error:
    fail("Runtime.MarshalError", "Unable to marshal response: %s" % error)
report(b"result", text)
done()
`;
