import <nonexistent-kiln-entry>
