"""An ordinary Flask app, deployed unchanged as a function (Handler: app.lambda_handler).

apig-wsgi turns each API Gateway (payload 1.0 or 2.0) or function URL event into a WSGI
request and the app's response back into the event's answer; with binary_support, bodies
of non-text types (the PNG) go back base64-encoded, which payload 1.0 otherwise leaves off.
"""

from pathlib import Path

from apig_wsgi import make_lambda_handler
from flask import Flask, Response, request

PNG = (Path(__file__).parent / "image.png").read_bytes()

app = Flask(__name__)


@app.get("/")
def index():
    return "<!doctype html><title>Hearth example</title><h1>Hello from Flask on Hearth</h1>"


@app.get("/items/<item_id>")
def item(item_id):
    return {"id": item_id, "q": request.args.get("q")}


@app.post("/form")
def form():
    return {"name": request.form.get("name"), "note": request.form.get("note")}


@app.get("/image.png")
def image():
    return Response(PNG, mimetype="image/png")


@app.get("/cookie")
def cookie():
    resp = app.make_response({"received": dict(request.cookies)})
    resp.set_cookie("flavour", "oat", path="/")
    resp.set_cookie("size", "large", path="/", httponly=True)
    return resp


lambda_handler = make_lambda_handler(app, binary_support=True)

if __name__ == "__main__":
    # `python app.py` serves it locally, as it would be developed.
    app.run(port=5000)
