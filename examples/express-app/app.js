// An ordinary Express app: nothing in it knows it runs as a function. index.js wraps it.
const fs = require("fs");
const path = require("path");
const express = require("express");
const cookieParser = require("cookie-parser");

const PNG = fs.readFileSync(path.join(__dirname, "image.png"));

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(cookieParser());

app.get("/", (req, res) => {
  res.type("html").send(
    "<!doctype html><title>Hearth example</title><h1>Hello from Express on Hearth</h1>",
  );
});

app.get("/items/:id", (req, res) => {
  res.json({ id: req.params.id, q: req.query.q ?? null });
});

app.post("/form", (req, res) => {
  res.json({ name: req.body.name ?? null, note: req.body.note ?? null });
});

app.get("/image.png", (req, res) => {
  res.type("png").send(PNG);
});

app.get("/cookie", (req, res) => {
  res.cookie("flavour", "oat", { path: "/" });
  res.cookie("size", "large", { path: "/", httpOnly: true });
  res.json({ received: req.cookies });
});

module.exports = app;

// `node app.js` serves it locally, as it would be developed.
if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  app.listen(port, () => console.log(`listening on http://127.0.0.1:${port}`));
}
