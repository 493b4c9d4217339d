"""The UR client side of the connection: RTDE (``rtde_protocol``, ``rtde_client``) and the Dashboard server
client (``dashboard``). State and I/O of a controller are read and written through these; nothing here
moves the arm on its own.
"""
