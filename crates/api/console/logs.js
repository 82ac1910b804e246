// The console's logs pages (being written).
export {};
