// The console's monitoring pages (being written).
export {};
