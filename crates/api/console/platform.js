// The console's platform pages (being written).
export {};
