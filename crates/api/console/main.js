// The console's entry point: every page module registers its pages, then the router starts.
import { start } from "./core.js";
import "./functions.js";
import "./logs.js";
import "./monitoring.js";
import "./triggers.js";
import "./platform.js";

start();
