/** The directory of the built console (index.html and assets/). */
export declare const distDir: string;
