// The console's triggers pages (being written).
export {};
