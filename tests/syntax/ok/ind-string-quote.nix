'' it's a '$ ''
