{ inherit __curPos; }
